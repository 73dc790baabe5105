package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

// Horizon is plan.Horizon: a pending message planned to go Horizon or more
// after it is planned is kept in its enrollment's planned column
// (migration 0008) rather than as a row, and ClaimDue makes it a row once
// it is due within Horizon of the time it is given (store/internal/plan
// says which reads see kept messages).
const Horizon = plan.Horizon

// plannedColumns returns the values of enrollments' planned and
// planned_next for ks, which are in send time order: NULL for none.
func plannedColumns(ks []plan.Kept) (planned, next any) {
	if len(ks) == 0 {
		return nil, nil
	}
	return plan.Append(nil, ks), formatTime(ks[0].SendAt)
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
func owners(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) ([]*plan.Owner, error) {
	rows, err := q.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*plan.Owner
	for rows.Next() {
		o := &plan.Owner{}
		var planned []byte
		if err := rows.Scan(&o.ID, &o.ClinicID, &o.PatientID, &o.Protocol, (*dbTime)(&o.CreatedAt), &planned); err != nil {
			return nil, err
		}
		if o.Kept, err = plan.Parse(planned); err != nil {
			return nil, fmt.Errorf("enrollment %d: %w", o.ID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// keptMessages returns the messages kept on one enrollment of the clinic
// (enrollmentID) or on every enrollment of one patient (patientID), with
// their texts, and the protocol slug of each message's enrollment.
func keptMessages(ctx context.Context, q sqlx.QueryerContext, clinicID, enrollmentID, patientID int64) ([]*aftercare.Message, map[int64]string, error) {
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
	texts, err := readTexts(ctx, q, plan.TextIDs(os))
	if err != nil {
		return nil, nil, err
	}
	ms, slugs := plan.Messages(os, func(id int64) (string, string) { t := texts[id]; return t.subject, t.body })
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
func thaw(ctx context.Context, tx *sqlx.Tx, os []*plan.Owner, cutoff time.Time) (int, error) {
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
		created := formatTime(o.CreatedAt)
		split := plan.Due(o.Kept, cutoff)
		for i := range o.Kept[:split] {
			k := &o.Kept[i]
			m := k.Message(o)
			ins.args = messageArgs(ins.args, k.ID, &aftercare.Enrollment{ID: o.ID, ClinicID: o.ClinicID, PatientID: o.PatientID}, m, k.TextID, created)
			if err := ins.added(ctx); err != nil {
				return 0, err
			}
		}
		n += split
		planned, next := plannedColumns(o.Kept[split:])
		if _, err := upd.ExecContext(ctx, planned, next, o.ID); err != nil {
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
