package aftercare

import "context"

// Locker is an optional part of a Store that several processes share
// (store/postgres, with replicas of `aftercare serve`): work that must run
// in one of them at a time (reconcile, purges, the daily summary) takes
// the lock named after it first. scheduler.Exclusive uses it when the
// store has it.
//
// TryLock takes the lock named name without waiting: ok is false (and
// unlock nil) when another process holds it. unlock releases it and may be
// called once. A process that dies loses its locks with its database
// connection, so a crashed replica never blocks the others. Errors are
// internal (the database cannot be reached).
//
// store/sqlite does not implement Locker: a SQLite file has one machine's
// processes, normally one serve, and its jobs are single transactions that
// SQLite's one writer at a time already keeps apart.
type Locker interface {
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}
