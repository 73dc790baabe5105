package sqlite

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

// RecordOutcomes is RecordOutcome for many outcomes in one write
// transaction (the dispatcher's group commit): errs[i] is outcomes[i]'s
// error, nil once it is committed. Each outcome is all or nothing, as
// alone: one no longer sending under its claim (ECONFLICT) or invalid is
// left out and the rest are committed. If the transaction fails as a
// whole, each outcome is tried again in its own, so that one that cannot
// be stored does not take the others down with it.
//
// One commit instead of one per send is where the time goes: with 32
// sends in flight, the commits (a WAL append each) were most of the
// dispatcher's database time (docs/performance.md, session 5).
func (db *DB) RecordOutcomes(ctx context.Context, outcomes []*aftercare.Outcome) []error {
	errs := make([]error, len(outcomes))
	now := db.now()
	for i, o := range outcomes {
		if !o.Status.Valid() || o.Status == aftercare.StatusSending {
			errs[i] = invalid("an outcome cannot be %q", o.Status)
		}
	}
	err := db.write(ctx, "record outcomes", func(tx *sqlx.Tx) error {
		// A status report that came before its send was recorded is
		// rare (a callback racing the group's commit): one read for the
		// group instead of one per outcome.
		var reports bool
		if err := tx.GetContext(ctx, &reports, anyEarlyReport); err != nil {
			return err
		}
		for i, o := range outcomes {
			if errs[i] != nil {
				continue
			}
			err := recordOutcomeTx(ctx, tx, o, now, reports)
			if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
				// Detected by the first statement: nothing of o was written.
				errs[i] = err
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return errs
	}
	for i, o := range outcomes {
		if errs[i] == nil || aftercare.ErrorCode(errs[i]) == aftercare.ECONFLICT {
			errs[i] = db.RecordOutcome(ctx, o)
		}
	}
	return errs
}
