package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// Claim leases (DispatchStore.RenewLease, EndLease, MarkUnknown).

// claimLeased enrolls patients whose SMS are due at t0+12h and claims n of
// them for owner, holding a lease until t0+13h+lease.
func claimLeased(t *testing.T, s aftercare.Store, owner string, n int, lease time.Duration) []*aftercare.Claimed {
	t.Helper()
	ctx := context.Background()
	c, p := setup(t, s, "leases")
	for i := range n {
		enroll(t, s, Enrollment(c.ID, p.ID, i, t0, 1))
	}
	at := t0.Add(13 * time.Hour)
	if err := s.RenewLease(ctx, owner, at, at.Add(lease)); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	claimed, err := s.ClaimDue(ctx, at, owner, n)
	if err != nil || len(claimed) != n {
		t.Fatalf("ClaimDue: %d claimed, %v; want %d", len(claimed), err, n)
	}
	return claimed
}

func markUnknown(t *testing.T, s aftercare.Store, now time.Time) []*aftercare.Message {
	t.Helper()
	ms, err := s.MarkUnknown(context.Background(), now, now.Add(-10*time.Minute))
	if err != nil {
		t.Fatalf("MarkUnknown(%v): %v", now, err)
	}
	return ms
}

// A claim whose owner keeps renewing is never taken over, however old; a
// second owner of the same instance name changes nothing (the rolling
// restart that lost messages).
func testLeaseRenewalKeepsClaims(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	const lease = 30 * time.Second
	claimed := claimLeased(t, s, "host:db/aaaa", 2, lease)
	start := t0.Add(13 * time.Hour)
	// Another process of the same instance starts and holds its own lease.
	if err := s.RenewLease(ctx, "host:db/bbbb", start, start.Add(lease)); err != nil {
		t.Fatal(err)
	}
	for at := start.Add(10 * time.Second); at.Before(start.Add(time.Hour)); at = at.Add(10 * time.Second) {
		if err := s.RenewLease(ctx, "host:db/aaaa", at, at.Add(lease)); err != nil {
			t.Fatalf("RenewLease at %v: %v", at, err)
		}
		if err := s.RenewLease(ctx, "host:db/bbbb", at, at.Add(lease)); err != nil {
			t.Fatal(err)
		}
		if ms := markUnknown(t, s, at.Add(5*time.Second)); len(ms) != 0 {
			t.Fatalf("at %v, %d claims of a renewed lease were taken over", at.Sub(start), len(ms))
		}
	}
	for _, c := range claimed {
		if m := message(t, s, c.Message.ClinicID, c.Message.ID); m.Status != aftercare.StatusSending {
			t.Errorf("message %d is %s after an hour under a renewed lease, want sending", m.ID, m.Status)
		}
	}
}

// Claims are taken over only once the lease has lapsed, exactly then, and
// the owner whose lease lapsed cannot record over the takeover: its
// outcome and its release are refused or change nothing.
func testLeaseTakeoverAfterLapse(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	const lease = 30 * time.Second
	claimed := claimLeased(t, s, "old/1", 2, lease)
	start := t0.Add(13 * time.Hour)
	if ms := markUnknown(t, s, start.Add(lease-time.Millisecond)); len(ms) != 0 {
		t.Fatalf("%d claims taken over a millisecond before the lease lapsed", len(ms))
	}
	ms := markUnknown(t, s, start.Add(lease))
	if len(ms) != 2 {
		t.Fatalf("%d claims taken over when the lease lapsed, want 2", len(ms))
	}
	for _, m := range ms {
		if m.Status != aftercare.StatusUnknown || m.ClaimedBy != "old/1" {
			t.Errorf("taken over: %d is %s claimed by %q", m.ID, m.Status, m.ClaimedBy)
		}
	}
	// Fencing: the old owner wakes up and records a send, renews its lease
	// and releases: none of it moves the taken-over messages.
	m := claimed[0].Message
	o := outcome(m, aftercare.StatusSent, "SM77", start.Add(time.Minute))
	o.ClaimedBy = "old/1"
	if err := s.RecordOutcome(ctx, o); aftercare.ErrorCode(err) != aftercare.ECONFLICT {
		t.Errorf("RecordOutcome by the owner whose lease lapsed: %v, want ECONFLICT", err)
	}
	if err := s.RenewLease(ctx, "old/1", start.Add(time.Minute), start.Add(time.Minute+lease)); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "old/1", []int64{claimed[0].Message.ID, claimed[1].Message.ID}); err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		got := message(t, s, c.Message.ClinicID, c.Message.ID)
		if got.Status != aftercare.StatusUnknown || got.ProviderID != "" {
			t.Errorf("message %d after the old owner's record, renewal and release: %s %q, want unknown", got.ID, got.Status, got.ProviderID)
		}
		at, err := s.ListAttempts(ctx, c.Message.ClinicID, c.Message.ID)
		if err != nil || len(at) != 1 || at[0].Outcome != aftercare.StatusUnknown {
			t.Errorf("attempts of %d: %s, %v; want the takeover alone", c.Message.ID, dump(at), err)
		}
	}
}

// An ended lease (graceful shutdown) leaves what is still claimed to be
// taken over at once; claims with no lease at all (made before leases
// existed) only after the orphan cutoff.
func testLeaseEndAndOrphans(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	claimed := claimLeased(t, s, "ending/1", 1, time.Hour)
	start := t0.Add(13 * time.Hour)
	if err := s.EndLease(ctx, "ending/1", start.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ms := markUnknown(t, s, start.Add(2*time.Second)); len(ms) != 1 || ms[0].ID != claimed[0].Message.ID {
		t.Fatalf("after EndLease, took over %d claims, want the one left", len(ms))
	}

	c, p := setup(t, s, "orphans")
	enroll(t, s, Enrollment(c.ID, p.ID, 1, t0, 1))
	if cs, err := s.ClaimDue(ctx, start, "no-lease/1", 1); err != nil || len(cs) != 1 {
		t.Fatalf("ClaimDue: %d, %v", len(cs), err)
	}
	if ms, err := s.MarkUnknown(ctx, start.Add(time.Minute), start.Add(-time.Millisecond)); err != nil || len(ms) != 0 {
		t.Fatalf("a claim with no lease, younger than the cutoff: %d taken over, %v", len(ms), err)
	}
	if ms, err := s.MarkUnknown(ctx, start.Add(11*time.Minute), start.Add(time.Minute)); err != nil || len(ms) != 1 {
		t.Fatalf("a claim with no lease, older than the cutoff: %d taken over, %v; want 1", len(ms), err)
	}
}

func testLeaseErrInvalid(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	if err := s.RenewLease(ctx, "", t0, t0.Add(time.Second)); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Errorf("RenewLease with no owner: %v, want EINVALID", err)
	}
	if err := s.RenewLease(ctx, "a/1", t0, t0); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Errorf("RenewLease ending now: %v, want EINVALID", err)
	}
}

// Unknown messages are listed page after page, oldest claim first, from a
// given claim time; GiveUpUnknown notes the older ones once.
func testUnknownPages(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, p := setup(t, s, "unknown-pages")
	const n = 7
	for i := range n {
		enroll(t, s, Enrollment(c.ID, p.ID, i, t0.Add(time.Duration(24*i)*time.Hour), 1))
	}
	// Claimed a day apart, each by a dispatcher that then crashed.
	var ids []int64
	for i := range n {
		at := t0.Add(time.Duration(13+24*i) * time.Hour)
		cs, err := s.ClaimDue(ctx, at, "gone/1", 1)
		if err != nil || len(cs) != 1 {
			t.Fatalf("ClaimDue %d: %d, %v", i, len(cs), err)
		}
		o := outcome(cs[0].Message, aftercare.StatusUnknown, "", at)
		o.ClaimedBy = "gone/1"
		if err := s.RecordOutcome(ctx, o); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cs[0].Message.ID)
	}
	since := t0.Add((13 + 24) * time.Hour) // skips the first
	var got []int64
	var after *aftercare.Message
	for page := 0; ; page++ {
		cs, err := s.ListUnknown(ctx, aftercare.UnknownPage{Since: since, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			got = append(got, c.Message.ID)
		}
		if len(cs) < 2 || page > n {
			break
		}
		after = cs[len(cs)-1].Message
	}
	if want := ids[1:]; !slices.Equal(got, want) {
		t.Errorf("pages of 2 since the second claim: %v, want %v", got, want)
	}
	cutoff := t0.Add((13 + 24*3) * time.Hour) // before the fourth
	for i, want := range []int{3, 0} {
		n, err := s.GiveUpUnknown(ctx, cutoff, "given up")
		if err != nil || n != want {
			t.Errorf("GiveUpUnknown run %d: %d, %v; want %d", i+1, n, err, want)
		}
	}
	for i, id := range ids {
		m := message(t, s, c.ID, id)
		if noted := m.Note == "given up" || len(m.Note) > 8 && m.Note[len(m.Note)-8:] == "given up"; noted != (i < 3) || m.Status != aftercare.StatusUnknown {
			t.Errorf("message %d (claimed day %d): %s, note %q", id, i, m.Status, m.Note)
		}
	}
}
