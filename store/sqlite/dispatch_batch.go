package sqlite

import (
	"context"
	"database/sql"

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
		run := newStmtCache(tx)
		defer run.close()
		for i, o := range outcomes {
			if errs[i] != nil {
				continue
			}
			err := recordOutcomeTx(ctx, tx, run, o, now)
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

// txRunner runs statements in a write transaction: the *sqlx.Tx itself,
// or a stmtCache of it.
type txRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row
}

// stmtCache runs each statement text of a transaction through one
// prepared statement, compiled on first use: SQLite compiles a
// statement's text on every Exec otherwise, and a group commit runs the
// same three statements (the message's move, its attempt, the early
// report it may have) for every outcome of the group.
type stmtCache struct {
	tx    *sqlx.Tx
	stmts map[string]*sqlx.Stmt
}

var _ txRunner = (*stmtCache)(nil)

func newStmtCache(tx *sqlx.Tx) *stmtCache {
	return &stmtCache{tx: tx, stmts: map[string]*sqlx.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if s := c.stmts[query]; s != nil {
		return s, nil
	}
	s, err := c.tx.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

// ExecContext runs query's prepared statement.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// QueryRowxContext runs query's prepared statement for one row.
func (c *stmtCache) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return c.tx.QueryRowxContext(ctx, query, args...) // reports the same error on Scan
	}
	return s.QueryRowxContext(ctx, args...)
}

// close closes the prepared statements (before the transaction ends).
func (c *stmtCache) close() {
	for _, s := range c.stmts {
		_ = s.Close()
	}
}
