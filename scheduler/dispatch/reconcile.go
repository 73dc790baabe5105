package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Reconciliation settles messages whose outcome is not known: those left
// sending by a dispatcher whose lease lapsed (it crashed, or hung), and
// those a provider answered ambiguously. It asks the provider (when the
// route's sender can look messages up), page after page, oldest first;
// what stays unresolved remains unknown for the practice manager, and is
// never resent. Messages older than GiveUpAfter are not looked up any more.
type Reconciliation struct {
	Store  aftercare.DispatchStore
	Routes map[aftercare.Channel]Route
	Now    func() time.Time
	// OrphanAfter is how long a claim whose owner holds no lease at all
	// (made by a version without leases) may stay sending before it is
	// presumed dead (default 10 minutes). Claims with a lease are taken over
	// exactly when it lapses.
	OrphanAfter time.Duration
	// GiveUpAfter is how old an unknown message may be and still be looked
	// up (default 7 days: providers keep their records longer, but a
	// message that was not found in a week will not be).
	GiveUpAfter time.Duration
	// PageSize is how many unknown messages are read at once (default 200).
	PageSize int
	Logger   *slog.Logger
	// Metrics counts the claims taken over; nil counts nothing.
	Metrics Metrics
}

// Reconciliation defaults.
const (
	DefaultOrphanAfter = 10 * time.Minute
	DefaultGiveUpAfter = 7 * 24 * time.Hour
)

// GiveUpNote is added to an unknown message that the reconciler stopped
// looking up.
const GiveUpNote = "not found at the provider within 7 days: no longer looked up"

// Run takes over lapsed claims and looks unknown messages up. It returns
// how many it resolved.
func (r *Reconciliation) Run(ctx context.Context) (int, error) {
	now := r.Now().UTC()
	orphan, giveUp, size := r.OrphanAfter, r.GiveUpAfter, r.PageSize
	if orphan <= 0 {
		orphan = DefaultOrphanAfter
	}
	if giveUp <= 0 {
		giveUp = DefaultGiveUpAfter
	}
	if size <= 0 {
		size = 200
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abandoned, err := r.Store.MarkUnknown(ctx, now, now.Add(-orphan))
	if err != nil {
		return 0, fmt.Errorf("marking abandoned claims unknown: %w", err)
	}
	if r.Metrics != nil && len(abandoned) > 0 {
		r.Metrics.TakenOver(len(abandoned))
	}
	for _, m := range abandoned {
		logger.Warn("message left sending by a dispatcher whose lease lapsed: outcome unknown", "message", m.ID, "claimed_by", m.ClaimedBy)
	}
	since := now.Add(-giveUp)
	note := GiveUpNote
	if giveUp != DefaultGiveUpAfter {
		note = fmt.Sprintf("not found at the provider within %s: no longer looked up", giveUp)
	}
	if n, err := r.Store.GiveUpUnknown(ctx, since, note); err != nil {
		return 0, fmt.Errorf("noting old unknown messages: %w", err)
	} else if n > 0 {
		logger.Warn("unknown messages no longer looked up", "count", n, "older_than", giveUp.String())
	}
	resolved := 0
	var after *aftercare.Message
	for ctx.Err() == nil {
		page, err := r.Store.ListUnknown(ctx, aftercare.UnknownPage{Since: since, After: after, Limit: size})
		if err != nil {
			return resolved, err
		}
		for _, c := range page {
			ok, err := r.lookup(ctx, c, logger)
			if err != nil {
				return resolved, err
			}
			if ok {
				resolved++
			}
		}
		if len(page) < size {
			break
		}
		after = page[len(page)-1].Message
	}
	return resolved, nil
}

// lookup asks the provider about one unknown message and resolves it if the
// provider has it.
func (r *Reconciliation) lookup(ctx context.Context, c *aftercare.Claimed, logger *slog.Logger) (bool, error) {
	m := c.Message
	route, ok := r.Routes[m.Channel]
	if !ok {
		return false, nil
	}
	lk, ok := route.Sender.(aftercare.Reconciler)
	if !ok {
		return false, nil
	}
	since := m.ClaimedAt
	if since.IsZero() {
		since = m.SendAt
	}
	since = since.Add(-time.Minute)
	start := r.Now()
	rcpt, found, err := lk.Lookup(ctx, outgoing(c), since)
	if err != nil {
		logger.Warn("reconcile lookup failed; will try again", "message", m.ID, "err", err)
		return false, nil
	}
	if !found {
		return false, nil
	}
	status := aftercare.StatusSent
	if s := providerStatus(rcpt.ProviderStatus); s != "" {
		status = s
	}
	a := aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts, At: start.UTC(), Channel: m.Channel,
		Sender: route.Name, ProviderID: rcpt.ProviderID, ProviderStatus: "reconciled: " + rcpt.ProviderStatus,
		Latency: r.Now().Sub(start), Outcome: status}
	err = r.Store.Resolve(ctx, m.ID, a, status, rcpt.ProviderID)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		return false, nil // another process's reconciler settled it first
	} else if err != nil {
		return false, err
	}
	logger.Info("unknown message found at the provider", "message", m.ID, "provider_id", rcpt.ProviderID, "status", status)
	return true, nil
}

// providerStatus maps a provider's words to a state, "" when it says nothing definite.
func providerStatus(s string) aftercare.Status {
	switch strings.ToLower(s) {
	case "delivered", "read":
		return aftercare.StatusDelivered
	case "undelivered":
		return aftercare.StatusUndelivered
	case "failed":
		return aftercare.StatusFailed
	}
	return ""
}
