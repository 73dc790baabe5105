package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

var _ aftercare.SecretStore = (*DB)(nil)

const (
	findSecret = `SELECT value FROM secrets WHERE name = $1`
	// storeSecret inserts a new secret unless one is there; either way it
	// returns the stored value, so that every process racing to make the
	// secret ends up with the first one's. (The no-op DO UPDATE makes the
	// row that won come back through RETURNING.)
	storeSecret = `INSERT INTO secrets (name, value) VALUES ($1, $2)
	ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING value`
)

// Secret returns the secret stored under name, storing gen() first when
// there is none; of callers racing, the first to store wins.
func (db *DB) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, findSecret, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, dbError("secret", err)
	}
	if err := db.pool.QueryRow(ctx, storeSecret, name, gen()).Scan(&v); err != nil {
		return nil, dbError("secret", err)
	}
	return v, nil
}
