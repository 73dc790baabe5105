package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

const markReady = `INSERT INTO readiness (id, checked_at) VALUES (1, $1)
	ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`

// Ready reports whether the database takes writes now: its schema is the
// one this program knows (every migration applied, none newer), and a
// one-row write commits. A health check that only reads says ok while every
// enrollment and every send fails (a read-only replica after a failover, a
// full disk). The error says what is wrong without the database's URL (GET
// /readyz shows it to anyone who asks).
func (db *DB) Ready(ctx context.Context) error {
	var newest int
	if err := db.pool.QueryRow(ctx, newestMigration).Scan(&newest); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if newest != db.schema {
		return fmt.Errorf("the database has schema version %d, this program expects %d: run the aftercare that matches it", newest, db.schema)
	}
	err := db.write(ctx, "readiness check", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, markReady, db.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("the database does not take writes: %w", err)
	}
	return nil
}
