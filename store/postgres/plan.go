package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

// Messages far ahead are kept on their enrollment (migration 0003), as
// store/sqlite keeps them: a pending message planned to go plan.Horizon
// or more after it is planned is not a row of messages but an entry of its
// enrollment's planned column, with its id (from messages_id_seq) and its
// text (a message_texts row), until ClaimDue comes within plan.Horizon of
// it. This file holds the queries that read and thaw them; what the two
// engines share (the column's form, which messages are kept, how a list
// takes them in) is store/internal/plan.
//
// Locking: whatever thaws an enrollment's messages (ClaimDue, Reschedule,
// CancelEnrollment, an opt-out, a fallback) first locks the enrollment row
// FOR UPDATE, reads planned under that lock and writes the rows and the
// new planned column in its own transaction, so a message is thawed once:
// a second thaw waits for the first to commit and then reads the column it
// left (read committed re-reads a row whose lock it waited for), and
// ClaimDue's SKIP LOCKED passes over enrollments another transaction holds.

const (
	// Enrollments keeping a message due before $1, soonest first, locked;
	// those another transaction holds are passed over (replicas claiming
	// at once thaw disjoint enrollments). Reads enrollments_planned.
	ownersDue = `SELECT e.id, e.clinic_id, e.patient_id, '', e.created_at, e.planned FROM enrollments e
WHERE e.planned_next < $1 ORDER BY e.planned_next LIMIT $2 FOR UPDATE SKIP LOCKED`
	ownerOfEnrollment = `SELECT e.id, e.clinic_id, e.patient_id, p.slug, e.created_at, e.planned
FROM enrollments e JOIN protocols p ON p.id = e.protocol_id
WHERE e.clinic_id = $1 AND e.id = $2 AND e.planned_next IS NOT NULL`
	ownersOfPatient = `SELECT e.id, e.clinic_id, e.patient_id, p.slug, e.created_at, e.planned
FROM enrollments e JOIN protocols p ON p.id = e.protocol_id
WHERE e.clinic_id = $1 AND e.patient_id = $2 AND e.planned_next IS NOT NULL`
	// lockOwners is what a thaw reads through ownerOfEnrollment or
	// ownersOfPatient: the enrollment rows locked, in id order (no
	// deadlock between two thaws of one patient).
	lockOwners = ` ORDER BY e.id FOR UPDATE OF e`
	setPlanned = `UPDATE enrollments SET planned = $1, planned_next = $2 WHERE id = $3`
	readTexts  = `SELECT id, subject, body FROM message_texts WHERE id = ANY($1)`
)

// plannedColumns returns the values of enrollments' planned and
// planned_next for ks, which are in send time order: NULL for none.
func plannedColumns(ks []plan.Kept) (planned, next any) {
	if len(ks) == 0 {
		return nil, nil
	}
	return plan.Append(make([]byte, 0, 48*len(ks)), ks), ks[0].SendAt
}

// owners runs one of the owner queries.
func owners(ctx context.Context, q querier, query string, args ...any) ([]*plan.Owner, error) {
	var out []*plan.Owner
	err := eachRow(ctx, q, func(rows pgx.Rows) error {
		o := &plan.Owner{}
		var planned []byte
		if err := rows.Scan(&o.ID, &o.ClinicID, &o.PatientID, &o.Protocol, (*dbTime)(&o.CreatedAt), &planned); err != nil {
			return err
		}
		var err error
		if o.Kept, err = plan.Parse(planned); err != nil {
			return fmt.Errorf("enrollment %d: %w", o.ID, err)
		}
		out = append(out, o)
		return nil
	}, query, args...)
	return out, err
}

// keptMessages returns the messages kept on one enrollment of the clinic
// (enrollmentID) or on every enrollment of one patient (patientID), with
// their texts, and the protocol slug of each message's enrollment.
func keptMessages(ctx context.Context, q querier, clinicID, enrollmentID, patientID int64) ([]*aftercare.Message, map[int64]string, error) {
	var os []*plan.Owner
	var err error
	if enrollmentID != 0 {
		os, err = owners(ctx, q, ownerOfEnrollment, clinicID, enrollmentID)
	} else {
		os, err = owners(ctx, q, ownersOfPatient, clinicID, patientID)
	}
	if err != nil || len(os) == 0 {
		return nil, nil, err
	}
	texts := map[int64]textKey{}
	err = eachRow(ctx, q, func(rows pgx.Rows) error {
		var id int64
		var t textKey
		if err := rows.Scan(&id, &t.subject, &t.body); err != nil {
			return err
		}
		texts[id] = t
		return nil
	}, readTexts, plan.TextIDs(os))
	if err != nil {
		return nil, nil, err
	}
	ms, slugs := plan.Messages(os, func(id int64) (string, string) { t := texts[id]; return t.subject, t.body })
	return ms, slugs, nil
}

// thawDue makes rows of the kept messages due before cutoff, of at most
// limit enrollments (soonest first) that no other transaction holds, and
// reports how many it made.
func thawDue(ctx context.Context, tx pgx.Tx, cutoff time.Time, limit int) (int, error) {
	os, err := owners(ctx, tx, ownersDue, cutoff, limit)
	if err != nil {
		return 0, err
	}
	return thaw(ctx, tx, os, cutoff)
}

// thawEnrollment makes rows of every message kept on the clinic's
// enrollment id (before it is cancelled or rescheduled, or a fallback is
// planned beside them), locking the enrollment.
func thawEnrollment(ctx context.Context, tx pgx.Tx, clinicID, id int64) error {
	os, err := owners(ctx, tx, ownerOfEnrollment+lockOwners, clinicID, id)
	if err != nil {
		return err
	}
	_, err = thaw(ctx, tx, os, time.Time{})
	return err
}

// thawPatient makes rows of every message kept on the clinic's patient's
// enrollments (before an opt-out cancels them), locking the enrollments.
func thawPatient(ctx context.Context, tx pgx.Tx, clinicID, patientID int64) error {
	os, err := owners(ctx, tx, ownersOfPatient+lockOwners, clinicID, patientID)
	if err != nil {
		return err
	}
	_, err = thaw(ctx, tx, os, time.Time{})
	return err
}

// thaw copies, for each owner (locked by the caller's query), the kept
// messages due before cutoff (all of them for a zero cutoff) into messages
// as pending rows, with their ids and texts and the enrollment's creation
// as their creation, and keeps the rest on the enrollment.
func thaw(ctx context.Context, tx pgx.Tx, os []*plan.Owner, cutoff time.Time) (int, error) {
	type thawed struct {
		o *plan.Owner
		k *plan.Kept
	}
	var rows []thawed
	var batch pgx.Batch
	for _, o := range os {
		split := plan.Due(o.Kept, cutoff)
		for i := range o.Kept[:split] {
			rows = append(rows, thawed{o, &o.Kept[i]})
		}
		planned, next := plannedColumns(o.Kept[split:])
		batch.Queue(setPlanned, planned, next, o.ID)
	}
	if len(os) == 0 {
		return 0, nil
	}
	row := make([]any, len(messageCopyColumns))
	err := copyRows(ctx, tx, "messages", messageCopyColumns, len(rows), func(i int) []any {
		o, k := rows[i].o, rows[i].k
		row[0], row[1], row[2], row[3] = k.ID, o.ClinicID, o.ID, o.PatientID
		row[4], row[5], row[6], row[7] = k.Step, int32(k.Occ), string(k.Channel), k.Lang
		row[8], row[9], row[10], row[11] = string(aftercare.StatusPending), k.SendAt, ts(k.Expires), k.Note
		row[12], row[13], row[14] = k.TextID, int32(k.Segments), k.SendAt
		row[15], row[16] = o.CreatedAt, o.CreatedAt
		return row
	})
	if err != nil {
		return 0, err
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return 0, err
	}
	return len(rows), nil
}
