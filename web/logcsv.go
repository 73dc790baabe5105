package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aftercare/aftercare"
)

// The delivery log as CSV: one shape for the log page's export, the API's
// and `aftercare log --csv`, written by WriteLogCSV.

// MessageCSVHeader is the header of the delivery log as CSV. Times are UTC
// (RFC 3339) except patient_local_time, the due time on the patient's
// clock (RFC 3339 with its offset), whose zone patient_tz names.
var MessageCSVHeader = []string{"message_id", "enrollment_id", "patient_id", "patient_name", "step", "occurrence", "channel", "status",
	"send_at", "patient_local_time", "patient_tz", "sent_at", "delivered_at", "sender", "provider_id", "error_code", "error", "note", "attempts"}

// MessageCSVRecord is m as a row under MessageCSVHeader; pt is its patient,
// nil when the patient is gone (name, local time and zone are then empty).
// Text that came from outside (a name, a provider's error) is kept from
// being read as a spreadsheet formula.
func MessageCSVRecord(m *aftercare.Message, pt *aftercare.Patient) []string {
	var name, local, tz string
	if pt != nil {
		name, tz = pt.Name, pt.TZ
		if loc, err := aftercare.LoadZone(pt.TZ); err == nil {
			local = m.SendAt.In(loc).Format(time.RFC3339)
		}
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{i64(m.ID), i64(m.EnrollmentID), i64(m.PatientID), CSVSafe(name), m.StepKey, strconv.Itoa(m.Occurrence),
		string(m.Channel), string(m.Status), apiTime(m.SendAt), local, tz, apiTime(m.SentAt), apiTime(m.DeliveredAt),
		m.Sender, CSVSafe(m.ProviderID), CSVSafe(m.ErrorCode), CSVSafe(m.Error), CSVSafe(m.Note), strconv.Itoa(m.Attempts)}
}

// PatientBook finds a clinic's patients by id, each once: the log's rows
// name their patients, and a page or an export holds few of them.
type PatientBook struct {
	store    aftercare.PatientStore
	clinicID int64
	seen     map[int64]*aftercare.Patient
}

// NewPatientBook returns an empty book of the clinic's patients.
func NewPatientBook(store aftercare.PatientStore, clinicID int64) *PatientBook {
	return &PatientBook{store: store, clinicID: clinicID, seen: map[int64]*aftercare.Patient{}}
}

// Find returns the patient with that id, nil when the clinic has none
// (the patient was erased), or the store's error.
func (b *PatientBook) Find(ctx context.Context, id int64) (*aftercare.Patient, error) {
	if pt, ok := b.seen[id]; ok {
		return pt, nil
	}
	pt, err := b.store.FindPatient(ctx, b.clinicID, id)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		pt, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.seen[id] = pt
	return pt, nil
}

// ErrCSVWrite marks an error of the writer WriteLogCSV writes to (the
// client went away), as opposed to one of the store.
var ErrCSVWrite = errors.New("writing the CSV")

// logCSVBatch is how many rows WriteLogCSV reads per query.
const logCSVBatch = 1000

// WriteLogCSV writes every message of the clinic that f selects (at most
// f.Limit when it is set) as CSV under MessageCSVHeader, reading the store
// a batch at a time so that memory stays flat whatever the size. It
// returns the rows written and the store's error, or one wrapping
// ErrCSVWrite.
func WriteLogCSV(ctx context.Context, w io.Writer, store aftercare.Store, f aftercare.MessageFilter) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(MessageCSVHeader); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCSVWrite, err)
	}
	book := NewPatientBook(store, f.ClinicID)
	limit := f.Limit
	rows := 0
	for {
		f.Limit = logCSVBatch
		if limit > 0 {
			f.Limit = min(logCSVBatch, limit-rows)
		}
		msgs, err := store.ListMessages(ctx, f)
		if err != nil {
			return rows, err
		}
		for _, m := range msgs {
			pt, err := book.Find(ctx, m.PatientID)
			if err != nil {
				return rows, err
			}
			if err := cw.Write(MessageCSVRecord(m, pt)); err != nil {
				return rows, fmt.Errorf("%w: %w", ErrCSVWrite, err)
			}
		}
		rows += len(msgs)
		cw.Flush()
		if err := cw.Error(); err != nil {
			return rows, fmt.Errorf("%w: %w", ErrCSVWrite, err)
		}
		if len(msgs) < f.Limit || limit > 0 && rows >= limit {
			return rows, nil
		}
		last := msgs[len(msgs)-1]
		f.AfterSendAt, f.AfterID = last.SendAt, last.ID
	}
}
