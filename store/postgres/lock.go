package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/aftercare/aftercare"
)

var _ aftercare.Locker = (*DB)(nil)

// Session-level advisory locks, keyed by the schema and the name: several
// Aftercare databases may share one PostgreSQL database under different
// schemas (the tests do), and advisory locks are per database.
const (
	tryLock = `SELECT pg_try_advisory_lock(hashtextextended('aftercare job ' || current_schema() || ' ' || $1, 0))`
	unlock  = `SELECT pg_advisory_unlock(hashtextextended('aftercare job ' || current_schema() || ' ' || $1, 0))`
)

// unlockTimeout bounds the unlock; past it the connection is closed, which
// releases the lock too.
const unlockTimeout = 10 * time.Second

// TryLock takes the advisory lock named name on a connection of its own,
// held until unlock (see aftercare.Locker). The connection is out of the
// pool meanwhile: the lock lives as long as its session, so a replica that
// dies drops it.
func (db *DB) TryLock(ctx context.Context, name string) (func(), bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, dbError("lock "+name, err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, tryLock, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, dbError("lock "+name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	release := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		var released bool
		if err := conn.QueryRow(ctx, unlock, name).Scan(&released); err != nil || !released {
			// Ending the session is the unlock that cannot fail.
			_ = conn.Hijack().Close(ctx)
			return
		}
		conn.Release()
	})
	return release, true, nil
}
