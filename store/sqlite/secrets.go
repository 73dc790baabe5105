package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/aftercare/aftercare"
	"github.com/jmoiron/sqlx"
)

var _ aftercare.SecretStore = (*DB)(nil)

// Secret returns the secret stored under name, storing gen() first when
// there is none.
func (db *DB) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := db.write(ctx, "secret", func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &v, `SELECT value FROM secrets WHERE name = ?`, name)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = gen()
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, name, v)
		return err
	})
	return v, err
}
