package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aftercare/aftercare"
)

// RecordOutcomes is RecordOutcome for many outcomes in one transaction
// (the dispatcher's group commit): errs[i] is outcomes[i]'s error, nil
// once it is committed. Each outcome is all or nothing, as alone: one no
// longer sending under its claim (ECONFLICT) or invalid is left out and
// the rest are committed. If the transaction fails as a whole (a deadlock
// PostgreSQL broke by aborting it, a row the schema refuses), each outcome
// is tried again in its own, so that one that cannot be stored does not
// take the others down with it.
//
// Alone, an outcome cost a transaction of its own: BEGIN, up to six
// statements and COMMIT, each a round trip, and a WAL flush. Grouped, the
// statements of every outcome go in two pipelines (recordOutcomesTx): a
// group of any size is four round trips (BEGIN, two pipelines, COMMIT)
// and one flush, plus a few statements for each early report, opt-out or
// fallback. With the grouped opt-out reads (OptedOutMany) this took three
// replicas from 2.4x one replica's rate to 2.8x at 100 ms provider
// latency, medians of nine rounds on a busy 2-core machine
// (docs/performance.md, "Fourth round").
func (db *DB) RecordOutcomes(ctx context.Context, outcomes []*aftercare.Outcome) []error {
	errs := make([]error, len(outcomes))
	var valid []*aftercare.Outcome
	var index []int // valid[j] is outcomes[index[j]]
	for i, o := range outcomes {
		if errs[i] = checkOutcome(o); errs[i] == nil {
			valid, index = append(valid, o), append(index, i)
		}
	}
	if len(valid) == 0 {
		return errs
	}
	now := db.now()
	err := db.write(ctx, "record outcomes", func(tx pgx.Tx) error {
		conflicts, err := recordOutcomesTx(ctx, tx, valid, now)
		for j, err := range conflicts {
			errs[index[j]] = err
		}
		return err
	})
	if err == nil {
		return errs
	}
	for j, o := range valid {
		errs[index[j]] = db.RecordOutcome(ctx, o)
	}
	return errs
}

const (
	// storeSentText makes $1 the text of message $3 (an SMS: no subject),
	// with its segments: the text actually sent, kept for the log.
	storeSentText = `WITH t AS (INSERT INTO message_texts (subject, body) VALUES ('', $1) RETURNING id)
	UPDATE messages SET text_id = (SELECT id FROM t), segments = $2 WHERE id = $3`
)

// recordOutcomesTx records valid outcomes inside tx: conflicts[i] is
// ECONFLICT when outcomes[i]'s message is no longer sending under its
// claim, and nothing of that outcome is written; err fails the whole
// transaction.
//
// The statements go in pipelines (pgx.Batch), one round trip for each:
// first every message's move, whose row counts say which outcomes are
// still their claimer's; then, for those, the text sent, the attempt and
// the report a provider sent before the message had its id. What few
// outcomes need more (an early report to apply, an opt-out, a fallback)
// follows statement by statement, opt-outs before fallbacks as alone.
//
// Locks: the moves lock the message rows in message id order, so two
// groups that share messages (a claim taken over after its lease lapsed)
// wait for each other rather than deadlock. Rows locked in another order
// can still deadlock with a group: the opt-outs (patients) and fallbacks
// (enrollments) of two groups, or MarkUnknown taking over a lapsed
// lease's messages while its owner records them. PostgreSQL then aborts
// one transaction; if it is the group's, RecordOutcomes retries its
// outcomes one by one (TestRecordOutcomesDeadlock).
func recordOutcomesTx(ctx context.Context, tx pgx.Tx, outcomes []*aftercare.Outcome, now time.Time) (conflicts []error, err error) {
	order := make([]int, len(outcomes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(outcomes[i].MessageID, outcomes[j].MessageID) })
	conflicts = make([]error, len(outcomes))
	moved := make([]*aftercare.Outcome, 0, len(outcomes))
	var moves pgx.Batch
	for _, i := range order {
		o := outcomes[i]
		moves.Queue(recordOutcome, string(o.Status), ts(o.NextAttemptAt), ts(o.SentAt), o.Sender, o.ProviderID,
			o.ProviderState, o.ErrorCode, o.Error, now, o.MessageID, o.ClinicID, o.ClaimedBy).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				conflicts[i] = conflict("message %d is no longer sending under claim %q", o.MessageID, o.ClaimedBy)
			} else {
				moved = append(moved, o)
			}
			return nil
		})
	}
	if err := tx.SendBatch(ctx, &moves).Close(); err != nil {
		return conflicts, err
	}

	type report struct {
		o      *aftercare.Outcome
		status string
		code   string
		at     dbTime
	}
	var reports []report
	var rest pgx.Batch
	for _, o := range moved {
		if o.Body != "" {
			rest.Queue(storeSentText, o.Body, o.Segments, o.MessageID)
		}
		a := o.Attempt
		a.ClinicID, a.MessageID = o.ClinicID, o.MessageID
		rest.Queue(insertAttempt, attemptArgs(&a)...)
		if o.ProviderID == "" {
			continue
		}
		// A report that came for the provider id before the message had it
		// (dispatch_status.go): taken under the id's lock, applied below.
		rest.Queue(lockProviderID, o.ProviderID)
		rest.Queue(takeEarlyReport, o.ProviderID).QueryRow(func(row pgx.Row) error {
			r := report{o: o}
			switch err := row.Scan(&r.status, &r.code, &r.at); {
			case errors.Is(err, pgx.ErrNoRows):
				return nil
			case err != nil:
				return err
			}
			reports = append(reports, r)
			return nil
		})
	}
	if err := tx.SendBatch(ctx, &rest).Close(); err != nil {
		return conflicts, err
	}

	for _, r := range reports {
		if _, err := advance(ctx, tx, r.o.MessageID, r.o.Status, aftercare.Status(r.status), r.code, timeOf(r.at), now); err != nil {
			return conflicts, err
		}
	}
	for _, o := range moved {
		if !o.OptOut {
			continue
		}
		col := "sms_opt_out_at"
		if o.Attempt.Channel == aftercare.Email {
			col = "email_opt_out_at"
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(optOutPatient, col), now, o.MessageID); err != nil {
			return conflicts, err
		}
		if err := recordProviderOptOut(ctx, tx, o, o.Attempt.Channel, now); err != nil {
			return conflicts, err
		}
	}
	for _, o := range moved {
		if o.Fallback != nil {
			if err := insertFallbackTx(ctx, tx, o.Fallback, now); err != nil {
				return conflicts, err
			}
		}
	}
	return conflicts, nil
}
