package dispatch

import (
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/sqlite"
)

// Both engines group the dispatcher's writes and opt-out reads: a change
// of either signature would otherwise silently send the dispatcher back to
// one transaction (and one read) per send on that engine.
var (
	_ outcomeBatcher    = (*sqlite.DB)(nil)
	_ optOutManyChecker = (*sqlite.DB)(nil)
	_ outcomeBatcher    = (*postgres.DB)(nil)
	_ optOutManyChecker = (*postgres.DB)(nil)
)
