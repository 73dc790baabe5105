package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// testClaimFirstEmail: ClaimDue marks the first email of each enrollment
// that reaches a provider (Claimed.FirstEmail), which carries the timeline
// as a calendar; texts do not count, nor do emails that were undelivered
// or failed.
func testClaimFirstEmail(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	_, claim := firstsFixture(t, s)
	first := claim(25 * time.Hour)
	want := map[string]bool{"a/step-00/email": true, "b/step-00/email": true}
	if len(first) != 8 {
		t.Fatalf("claimed %d messages, want 8", len(first))
	}
	for k, cl := range first {
		if cl.FirstEmail != want[k] {
			t.Errorf("%s: FirstEmail %v, want %v", k, cl.FirstEmail, want[k])
		}
		if cl.FirstEmail && cl.FirstSMS {
			t.Errorf("%s: both FirstEmail and FirstSMS", k)
		}
	}
	// a's first email and every text go out; b's emails are undelivered
	// and failed, its texts sent.
	settle := func(k string, st aftercare.Status, sid string) {
		t.Helper()
		if err := s.RecordOutcome(ctx, outcome(first[k].Message, st, sid, t0.Add(25*time.Hour))); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	settle("a/step-00/email", aftercare.StatusSent, "<a0@test>")
	settle("a/step-01/email", aftercare.StatusSent, "<a1@test>")
	settle("b/step-00/email", aftercare.StatusUndelivered, "<b0@test>")
	settle("b/step-01/email", aftercare.StatusFailed, "")
	for i, k := range []string{"a/step-00/sms", "a/step-01/sms", "b/step-00/sms", "b/step-01/sms"} {
		settle(k, aftercare.StatusSent, "SM0000000000000000000000000000001"+string(rune('0'+i)))
	}
	later := claim(37 * time.Hour)
	if cl := later["a/step-02/email"]; cl == nil || cl.FirstEmail {
		t.Errorf("a's third email: %+v; want claimed, not first (an email of a was sent)", cl)
	}
	if cl := later["b/step-02/email"]; cl == nil || !cl.FirstEmail {
		t.Errorf("b's third email: %+v; want claimed and first (b's earlier emails never reached anyone)", cl)
	}
	if cl := later["b/step-02/sms"]; cl == nil || cl.FirstSMS || cl.FirstEmail {
		t.Errorf("b's third text: %+v; want neither first (b's texts were sent)", cl)
	}
}
