package aftercare

import (
	"context"
	"time"
)

// PurgeCounts says what a purge of old texts did (or, dry, would do).
type PurgeCounts struct {
	Messages int `json:"messages"` // messages whose subject and body were replaced by the marker
	Texts    int `json:"texts"`    // stored texts deleted, no longer used by any message
	Replies  int `json:"replies"`  // patients' reply texts replaced by the marker
}

// RetentionStore purges texts a clinic no longer keeps.
type RetentionStore interface {
	// PurgeTexts replaces with marker the subject and body of the clinic's
	// messages that are settled (neither pending nor sending) and whose
	// send time and last change are before before, and deletes the stored
	// texts no message uses any more. States, times, attempts and counts
	// stay; a message planned for later is never touched. With dryRun it
	// only counts. EINVALID without a clinic, a time or a marker.
	PurgeTexts(ctx context.Context, clinicID int64, before time.Time, marker string, dryRun bool) (PurgeCounts, error)
}
