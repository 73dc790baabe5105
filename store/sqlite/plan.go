package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

// Horizon is how far ahead messages are rows of the messages table. A
// pending message planned to go Horizon or more after it is planned is
// kept in its enrollment's planned column instead (migration 0008), with
// the id it is given then, and ClaimDue makes it a row once it is due
// within Horizon of the time ClaimDue is given. Every read of an
// enrollment's or a patient's messages (ListMessages with EnrollmentID or
// PatientID, ListEnrollments' counts, Reschedule, CancelEnrollment) sees
// kept messages as the pending messages they are, and so does DailyStats;
// the clinic-wide log lists rows only.
//
// A day leaves the dispatcher a day's slack: messages are rows long before
// they are due even if it was down for hours, and an import of patients
// treated this week writes about a tenth of the rows it plans.
const Horizon = 24 * time.Hour

// maxThawPerClaim bounds how many enrollments one ClaimDue makes the kept
// messages of into rows, soonest first, so that a claim after a long
// downtime stays short; the next claim goes on.
const maxThawPerClaim = 500

// keptMessage is a pending message kept on its enrollment.
type keptMessage struct {
	id       int64
	step     string
	occ      int
	channel  aftercare.Channel
	lang     string
	sendAt   time.Time
	expires  time.Time
	note     string
	textID   int64
	segments int
}

// keeps reports whether m, planned at now, is kept on its enrollment: a
// pending message that was never tried, due Horizon or more after now.
func keeps(m *aftercare.Message, now time.Time) bool {
	return m.Status == aftercare.StatusPending && m.Attempts == 0 &&
		(m.NextAttemptAt.IsZero() || m.NextAttemptAt.Equal(m.SendAt)) &&
		!m.SendAt.Before(now.Add(Horizon))
}

// plannedColumns returns the values of enrollments' planned and
// planned_next for ks, which are in send time order: NULL for none.
func plannedColumns(ks []keptMessage) (planned, next any) {
	if len(ks) == 0 {
		return nil, nil
	}
	return appendPlanned(nil, ks), formatTime(ks[0].sendAt)
}

// message returns k as the message it stands for, of enrollment e.
func (k *keptMessage) message(e *keptOwner) *aftercare.Message {
	return &aftercare.Message{
		ID: k.id, ClinicID: e.clinicID, EnrollmentID: e.id, PatientID: e.patientID,
		StepKey: k.step, Occurrence: k.occ, Channel: k.channel, Lang: k.lang,
		Status: aftercare.StatusPending, SendAt: k.sendAt, ExpiresAt: k.expires, Note: k.note,
		Segments: k.segments, NextAttemptAt: k.sendAt, CreatedAt: e.createdAt, UpdatedAt: e.createdAt,
	}
}

// keptOwner is an enrollment that keeps messages.
type keptOwner struct {
	id, clinicID, patientID int64
	protocol                string // slug
	createdAt               time.Time
	kept                    []keptMessage
}

const (
	// Enrollments keeping a message due before ?, soonest first.
	ownersDue = `SELECT e.id, e.clinic_id, e.patient_id, '', e.created_at, e.planned FROM enrollments e
WHERE e.planned_next IS NOT NULL AND e.planned_next < ? ORDER BY e.planned_next LIMIT ?`
	ownerOfEnrollment = `SELECT e.id, e.clinic_id, e.patient_id, p.slug, e.created_at, e.planned
FROM enrollments e JOIN protocols p ON p.id = e.protocol_id
WHERE e.clinic_id = ? AND e.id = ? AND e.planned_next IS NOT NULL`
	ownersOfPatient = `SELECT e.id, e.clinic_id, e.patient_id, p.slug, e.created_at, e.planned
FROM enrollments e JOIN protocols p ON p.id = e.protocol_id
WHERE e.clinic_id = ? AND e.patient_id = ? AND e.planned_next IS NOT NULL`
	setPlanned = `UPDATE enrollments SET planned = ?, planned_next = ? WHERE id = ?`
	nextSeq    = `SELECT next FROM sequences WHERE name = ?`
	setSeq     = `UPDATE sequences SET next = ? WHERE name = ?`
)

// owners runs one of the owner queries.
func owners(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) ([]*keptOwner, error) {
	rows, err := q.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*keptOwner
	for rows.Next() {
		o := &keptOwner{}
		var planned []byte
		if err := rows.Scan(&o.id, &o.clinicID, &o.patientID, &o.protocol, (*dbTime)(&o.createdAt), &planned); err != nil {
			return nil, err
		}
		if o.kept, err = parsePlanned(planned); err != nil {
			return nil, fmt.Errorf("enrollment %d: %w", o.id, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// keptMessages returns the messages kept on one enrollment of the clinic
// (enrollmentID) or on every enrollment of one patient (patientID), with
// their texts, and the protocol slug of each message's enrollment.
func keptMessages(ctx context.Context, q sqlx.QueryerContext, clinicID, enrollmentID, patientID int64) ([]*aftercare.Message, map[int64]string, error) {
	var os []*keptOwner
	var err error
	if enrollmentID != 0 {
		os, err = owners(ctx, q, ownerOfEnrollment, clinicID, enrollmentID)
	} else {
		os, err = owners(ctx, q, ownersOfPatient, clinicID, patientID)
	}
	if err != nil || len(os) == 0 {
		return nil, nil, err
	}
	var textIDs []int64
	for _, o := range os {
		for _, k := range o.kept {
			textIDs = append(textIDs, k.textID)
		}
	}
	texts, err := readTexts(ctx, q, dedupe(textIDs))
	if err != nil {
		return nil, nil, err
	}
	var ms []*aftercare.Message
	slugs := map[int64]string{}
	for _, o := range os {
		slugs[o.id] = o.protocol
		for i := range o.kept {
			m := o.kept[i].message(o)
			t := texts[o.kept[i].textID]
			m.Subject, m.Body = t.subject, t.body
			ms = append(ms, m)
		}
	}
	return ms, slugs, nil
}

// readTexts returns message_texts rows by id.
func readTexts(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]textKey, error) {
	out := make(map[int64]textKey, len(ids))
	err := chunks(ids, func(ids []int64) error {
		query, args, err := sqlx.In(`SELECT id, subject, body FROM message_texts WHERE id IN (?)`, ids)
		if err != nil {
			return err
		}
		rows, err := q.QueryxContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var t textKey
			if err := rows.Scan(&id, &t.subject, &t.body); err != nil {
				return err
			}
			out[id] = t
		}
		return rows.Err()
	})
	return out, err
}

// thawDue makes rows of the kept messages due before cutoff, of at most
// limit enrollments (soonest first), and reports how many it made.
func thawDue(ctx context.Context, tx *sqlx.Tx, cutoff time.Time, limit int) (int, error) {
	os, err := owners(ctx, tx, ownersDue, formatTime(cutoff), limit)
	if err != nil {
		return 0, err
	}
	return thaw(ctx, tx, os, cutoff)
}

// thawEnrollment makes rows of every message kept on the clinic's
// enrollment id (before it is cancelled or rescheduled).
func thawEnrollment(ctx context.Context, tx *sqlx.Tx, clinicID, id int64) error {
	os, err := owners(ctx, tx, ownerOfEnrollment, clinicID, id)
	if err != nil {
		return err
	}
	_, err = thaw(ctx, tx, os, time.Time{})
	return err
}

// thaw inserts, for each owner, the kept messages due before cutoff (all
// of them for a zero cutoff) as pending rows, with their ids and texts and
// the enrollment's creation as their creation, and keeps the rest.
func thaw(ctx context.Context, tx *sqlx.Tx, os []*keptOwner, cutoff time.Time) (int, error) {
	if len(os) == 0 {
		return 0, nil
	}
	ins := newBulk(tx, "messages", messageInsertColumns)
	defer ins.close()
	upd, err := tx.PreparexContext(ctx, setPlanned)
	if err != nil {
		return 0, err
	}
	defer upd.Close()
	n := 0
	for _, o := range os {
		created := formatTime(o.createdAt)
		split := len(o.kept)
		if !cutoff.IsZero() {
			split = 0
			for split < len(o.kept) && o.kept[split].sendAt.Before(cutoff) {
				split++
			}
		}
		for i := range o.kept[:split] {
			k := &o.kept[i]
			m := k.message(o)
			ins.args = messageArgs(ins.args, k.id, &aftercare.Enrollment{ID: o.id, ClinicID: o.clinicID, PatientID: o.patientID}, m, k.textID, created)
			if err := ins.added(ctx); err != nil {
				return 0, err
			}
		}
		n += split
		planned, next := plannedColumns(o.kept[split:])
		if _, err := upd.ExecContext(ctx, planned, next, o.id); err != nil {
			return 0, err
		}
	}
	return n, ins.flush(ctx)
}

// messageIDs reserves n message ids and returns the first: ids are never
// given twice, also those of messages kept on their enrollments (which
// MAX(id) does not see).
func messageIDs(ctx context.Context, tx *sqlx.Tx, n int) (int64, error) {
	var next, max int64
	if err := tx.GetContext(ctx, &next, nextSeq, "messages"); err != nil {
		return 0, fmt.Errorf("message ids: %w", err)
	}
	if err := tx.GetContext(ctx, &max, maxMessageID); err != nil {
		return 0, err
	}
	first := next
	if max >= first {
		first = max + 1
	}
	if _, err := tx.ExecContext(ctx, setSeq, first+int64(n), "messages"); err != nil {
		return 0, err
	}
	return first, nil
}

// mergeKept adds kept to ms (both in (SendAt, ID) order) as ListMessages
// would have returned them had they been rows, for filter f. Its
// conditions repeat listMessages' SQL in Go: change both together. The
// storetest case FarAhead/FiltersAgreeWithRows lists near (row) and far
// (kept) messages through every MessageFilter field and fails when the two
// disagree.
func mergeKept(ms, kept []*aftercare.Message, slugs map[int64]string, f aftercare.MessageFilter) []*aftercare.Message {
	n := len(ms)
	for _, m := range kept {
		if f.EnrollmentID != 0 && m.EnrollmentID != f.EnrollmentID ||
			f.PatientID != 0 && m.PatientID != f.PatientID ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, aftercare.StatusPending) ||
			f.Channel != "" && m.Channel != f.Channel ||
			f.ProtocolSlug != "" && slugs[m.EnrollmentID] != f.ProtocolSlug ||
			!f.Since.IsZero() && m.SendAt.Before(f.Since) ||
			!f.Until.IsZero() && !m.SendAt.Before(f.Until) ||
			(!f.AfterSendAt.IsZero() || f.AfterID != 0) && !afterKey(m, f.AfterSendAt, f.AfterID) {
			continue
		}
		ms = append(ms, m)
	}
	if len(ms) == n {
		return ms
	}
	slices.SortFunc(ms, compareSendID)
	if f.Limit > 0 && len(ms) > f.Limit {
		ms = ms[:f.Limit]
	}
	return ms
}

// afterKey reports whether m comes after (at, id) in (SendAt, ID) order.
func afterKey(m *aftercare.Message, at time.Time, id int64) bool {
	if c := m.SendAt.Compare(norm(at)); c != 0 {
		return c > 0
	}
	return m.ID > id
}

// compareSendID orders messages as ListMessages returns them: by SendAt,
// then ID.
func compareSendID(a, b *aftercare.Message) int {
	if c := a.SendAt.Compare(b.SendAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
