package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// TestClaimDueReplicas: four "replicas", each its own pool on one schema,
// claim the same due messages at once, with the first SMS of each
// enrollment at stake. Each message is claimed exactly once, and each
// enrollment has exactly one first SMS and one first email.
func TestClaimDueReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshSchema(t)
	seed, err := Open(ctx, u, WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	c := storetest.Clinic("replicas")
	if err := seed.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := seed.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	const patients, perPatient = 150, 6
	treated := t0.Add(-7 * 24 * time.Hour)
	var batch []*aftercare.NewEnrollment
	for i := range patients {
		ne := storetest.Enrollment(c.ID, p.ID, i, treated, perPatient)
		for _, m := range ne.Messages {
			// All due at one time, none expired: an enrollment's messages
			// are next to each other in the claim order, so replicas
			// claiming two at a time race for its firsts.
			m.SendAt, m.ExpiresAt = treated.Add(time.Hour), time.Time{}
		}
		batch = append(batch, ne)
	}
	if _, err := seed.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}

	const replicas = 4
	claimed := make([][]*aftercare.Claimed, replicas)
	var wg sync.WaitGroup
	for r := range replicas {
		db, err := Open(ctx, u, WithMaxConns(2))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Go(func() {
			owner := fmt.Sprintf("replica-%d", r)
			for {
				cs, err := db.ClaimDue(ctx, t0, owner, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				claimed[r] = append(claimed[r], cs...)
			}
		})
	}
	wg.Wait()

	seen := map[int64]string{}
	firsts := map[string]int{} // enrollment/channel -> firsts
	for r, cs := range claimed {
		for _, c := range cs {
			m := c.Message
			if prev, ok := seen[m.ID]; ok {
				t.Errorf("message %d claimed by %s and replica-%d", m.ID, prev, r)
			}
			seen[m.ID] = m.ClaimedBy
			if c.FirstSMS || c.FirstEmail {
				firsts[fmt.Sprintf("%d/%s", m.EnrollmentID, m.Channel)]++
			}
		}
	}
	if len(seen) != patients*perPatient {
		t.Errorf("%d messages claimed, want all %d", len(seen), patients*perPatient)
	}
	if len(firsts) != 2*patients {
		t.Errorf("%d enrollment channels have a first message, want %d", len(firsts), 2*patients)
	}
	for k, n := range firsts {
		if n != 1 {
			t.Errorf("enrollment/channel %s has %d first messages, want 1", k, n)
		}
	}
	for r, cs := range claimed {
		t.Logf("replica-%d claimed %d", r, len(cs))
	}
}

// TestMarkUnknownReplicas: replicas taking over a dead owner's claims at
// once take each claim once (one attempt each).
func TestMarkUnknownReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshSchema(t)
	seed, err := Open(ctx, u, WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	c := storetest.Clinic("takeover")
	if err := seed.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := seed.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	var batch []*aftercare.NewEnrollment
	for i := range 50 {
		ne := storetest.Enrollment(c.ID, p.ID, i, t0.Add(-7*24*time.Hour), 4)
		for _, m := range ne.Messages {
			m.ExpiresAt = time.Time{}
		}
		batch = append(batch, ne)
	}
	if _, err := seed.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := seed.RenewLease(ctx, "dead", t0, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	cs, err := seed.ClaimDue(ctx, t0, "dead", 1000)
	if err != nil || len(cs) != 200 {
		t.Fatalf("ClaimDue: %d claims, %v; want 200", len(cs), err)
	}
	later := t0.Add(time.Minute)
	taken := make([][]*aftercare.Message, 3)
	var wg sync.WaitGroup
	for r := range taken {
		wg.Go(func() {
			ms, err := seed.MarkUnknown(ctx, later, t0)
			if err != nil {
				t.Error(err)
			}
			taken[r] = ms
		})
	}
	wg.Wait()
	n := 0
	for _, ms := range taken {
		n += len(ms)
	}
	if n != 200 {
		t.Errorf("replicas took over %d claims in all, want each of the 200 once", n)
	}
	var attempts int
	if err := seed.pool.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE outcome = 'unknown'`).Scan(&attempts); err != nil || attempts != 200 {
		t.Errorf("%d takeover attempts recorded (%v), want 200", attempts, err)
	}
}

// TestProviderStatusRace: a status callback that races the RecordOutcome
// storing its provider id is applied whichever commits first: kept and
// taken by the outcome, or finding its message. None is left behind.
func TestProviderStatusRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, WithMaxConns(8))
	c := storetest.Clinic("race")
	if err := db.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := db.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	var batch []*aftercare.NewEnrollment
	for i := range 100 {
		ne := storetest.Enrollment(c.ID, p.ID, i, t0.Add(-7*24*time.Hour), 1)
		ne.Messages[0].ExpiresAt = time.Time{}
		batch = append(batch, ne)
	}
	if _, err := db.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	claims, err := db.ClaimDue(ctx, t0, "racer", 1000)
	if err != nil || len(claims) != 100 {
		t.Fatalf("ClaimDue: %d, %v; want 100", len(claims), err)
	}
	var wg sync.WaitGroup
	for i, cl := range claims {
		m, sid := cl.Message, fmt.Sprintf("SM%032d", i)
		wg.Go(func() {
			err := db.RecordOutcome(ctx, &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: "racer",
				Status: aftercare.StatusSent, SentAt: t0, Sender: "twilio", ProviderID: sid, ProviderState: "queued",
				Attempt: aftercare.Attempt{Number: 1, At: t0, Channel: m.Channel, ProviderID: sid, Outcome: aftercare.StatusSent}})
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := db.ApplyProviderStatus(ctx, sid, aftercare.StatusDelivered, "", t0.Add(time.Second)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var delivered, kept int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'delivered'`).Scan(&delivered); err != nil {
		t.Fatal(err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM provider_reports`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if delivered != 100 || kept != 0 {
		t.Errorf("%d messages delivered and %d reports left kept, want 100 and 0", delivered, kept)
	}
}
