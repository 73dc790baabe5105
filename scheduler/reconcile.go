package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Reconciliation settles messages whose outcome is not known: those left
// sending by a crash, and those a provider answered ambiguously. It asks
// the provider (when the route's sender can look messages up); what stays
// unresolved remains unknown for the practice manager, and is never resent.
type Reconciliation struct {
	Store  aftercare.DispatchStore
	Routes map[aftercare.Channel]Route
	Now    func() time.Time
	// Instance is this process's stable name; Owner its current run. Claims
	// of an earlier run of the same instance are known to be dead at once.
	Instance string
	Owner    string
	// Lease is how long a claim of another instance may stay sending before
	// it is presumed dead (default 10 minutes).
	Lease  time.Duration
	Logger *slog.Logger
}

// Run marks abandoned claims unknown and looks unknown messages up. It
// returns how many it resolved.
func (r *Reconciliation) Run(ctx context.Context) (int, error) {
	now := r.Now().UTC()
	lease := r.Lease
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abandoned, err := r.Store.MarkUnknown(ctx, now.Add(-lease), r.Instance+"/", r.Owner, now)
	if err != nil {
		return 0, fmt.Errorf("marking abandoned claims unknown: %w", err)
	}
	for _, m := range abandoned {
		logger.Warn("message left sending by a stopped dispatcher: outcome unknown", "message", m.ID, "claimed_by", m.ClaimedBy)
	}
	unknown, err := r.Store.ListUnknown(ctx, 200)
	if err != nil {
		return 0, err
	}
	resolved := 0
	for _, c := range unknown {
		m := c.Message
		route, ok := r.Routes[m.Channel]
		if !ok {
			continue
		}
		lk, ok := route.Sender.(Reconciler)
		if !ok {
			continue
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
			continue
		}
		if !found {
			continue
		}
		status := aftercare.StatusSent
		if s := providerStatus(rcpt.ProviderStatus); s != "" {
			status = s
		}
		a := aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts, At: start.UTC(), Channel: m.Channel,
			Sender: route.Name, ProviderID: rcpt.ProviderID, ProviderStatus: "reconciled: " + rcpt.ProviderStatus,
			Latency: r.Now().Sub(start), Outcome: status}
		if err := r.Store.Resolve(ctx, m.ID, a, status, rcpt.ProviderID); err != nil {
			return resolved, err
		}
		logger.Info("unknown message found at the provider", "message", m.ID, "provider_id", rcpt.ProviderID, "status", status)
		resolved++
	}
	return resolved, nil
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
