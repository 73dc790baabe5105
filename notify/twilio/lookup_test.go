package twilio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	m := outgoing(patient)
	since := epoch // 15:09:26 UTC
	type seed struct {
		name string
		msg  twiliotest.Message
	}
	match := func(at time.Time, status string) twiliotest.Message {
		return twiliotest.Message{To: patient, From: fromNumber, Body: m.Body, Status: status, DateCreated: at}
	}
	tests := []struct {
		name       string
		service    bool // configure a Messaging Service instead of From
		seeds      []seed
		wantFound  string // name of the seed expected, "" for not found
		wantStatus string
		wantFinal  aftercare.Status
	}{
		{
			name: "FoundNewestMatch",
			seeds: []seed{
				{"older", match(since.Add(time.Minute), "delivered")},
				{"newer", match(since.Add(5*time.Minute), "sent")},
				{"otherBody", twiliotest.Message{To: patient, From: fromNumber, Body: "Another text", DateCreated: since.Add(9 * time.Minute)}},
				{"otherFrom", twiliotest.Message{To: patient, From: "+14155550111", Body: m.Body, DateCreated: since.Add(9 * time.Minute)}},
				{"otherTo", twiliotest.Message{To: "+14155550188", From: fromNumber, Body: m.Body, DateCreated: since.Add(9 * time.Minute)}},
				{"inbound", twiliotest.Message{To: patient, From: fromNumber, Body: m.Body, Direction: "inbound", DateCreated: since.Add(9 * time.Minute)}},
			},
			wantFound: "newer", wantStatus: "sent",
		},
		{
			name:      "FoundDeliveredIsFinal",
			seeds:     []seed{{"it", match(since.Add(2*time.Second), "delivered")}},
			wantFound: "it", wantStatus: "delivered", wantFinal: aftercare.StatusDelivered,
		},
		{
			name:      "FoundAtSinceToTheSecond",
			seeds:     []seed{{"it", match(since, "undelivered")}},
			wantFound: "it", wantStatus: "undelivered", wantFinal: aftercare.StatusUndelivered,
		},
		{
			// Twilio's filter is by day: the same text sent this morning
			// (yesterday's recurrence, a manual resend) comes back from the
			// API and must not be taken for this message.
			name:  "NotFoundSameDayBeforeSince",
			seeds: []seed{{"morning", match(since.Add(-6*time.Hour), "delivered")}, {"secondBefore", match(since.Add(-time.Second), "delivered")}},
		},
		{
			name:  "NotFoundPreviousDay",
			seeds: []seed{{"yesterday", match(since.Add(-24*time.Hour), "delivered")}},
		},
		{
			name:  "NotFoundEmpty",
			seeds: nil,
		},
		{
			name:    "FoundByMessagingService",
			service: true,
			seeds: []seed{
				{"otherService", twiliotest.Message{To: patient, From: "+14155550122", MessagingServiceSID: "MG00000000000000000000000000000000", Body: m.Body, DateCreated: since.Add(3 * time.Minute)}},
				{"ours", twiliotest.Message{To: patient, From: "+14155550122", MessagingServiceSID: serviceSID, Body: m.Body, Status: "queued", DateCreated: since.Add(time.Minute)}},
			},
			wantFound: "ours", wantStatus: "queued",
		},
		{
			// Still in the service's queue: no date_sent, so the DateSent
			// filter cannot find it.
			name:    "FoundNotYetSent",
			service: true,
			seeds: []seed{
				{"queued", twiliotest.Message{To: patient, MessagingServiceSID: serviceSID, Body: m.Body, Status: "accepted", DateCreated: since.Add(time.Second)}},
			},
			wantFound: "queued", wantStatus: "accepted",
		},
		{
			// An identical text from an older request that Twilio only
			// sent after since is not this message.
			name: "NotFoundOlderRequestSentLate",
			seeds: []seed{
				{"late", twiliotest.Message{To: patient, From: fromNumber, Body: m.Body, DateCreated: since.Add(-time.Hour), DateSent: since.Add(time.Minute)}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.NewServer(t)
			sids := map[string]string{}
			for _, s := range tt.seeds {
				sids[s.name] = srv.Add(s.msg).SID
			}
			var mods []func(*twilio.Config)
			if tt.service {
				mods = append(mods, func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", serviceSID })
			}
			s := newSender(t, srv, mods...)
			r, found, err := s.Lookup(context.Background(), m, since)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			noViolations(t, srv)
			if tt.wantFound == "" {
				if found {
					t.Fatalf("Lookup found %+v; want nothing", r)
				}
				return
			}
			if !found {
				t.Fatalf("Lookup found nothing; want %s", tt.wantFound)
			}
			want := aftercare.Receipt{Sender: "twilio", ProviderID: sids[tt.wantFound], ProviderStatus: tt.wantStatus, Final: tt.wantFinal}
			if r != want {
				t.Errorf("Lookup = %+v; want %+v", r, want)
			}
		})
	}
}

// The crash case end to end: Twilio takes the message, its answer is lost
// (connection dropped, reset, or never sent before the client gave up), and
// Lookup finds what Twilio made.
func TestLookupAfterAmbiguousSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply twiliotest.Reply
	}{
		{"AcceptThenDrop", twiliotest.AcceptThenDrop()},
		{"AcceptThenHang", twiliotest.Reply{AcceptThenHang: true}},
		{"ResetMidBody", twiliotest.Reply{ResetMidBody: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := epoch
			srv := twiliotest.NewServer(t, twiliotest.WithClock(func() time.Time { return now.Add(2 * time.Second) }))
			srv.NextFor(patient, tt.reply)
			s := newSender(t, srv, func(c *twilio.Config) { c.Timeout = 200 * time.Millisecond })
			m := outgoing(patient)
			_, err := s.Send(context.Background(), m)
			if se := notifytest.SendError(t, err); se.Kind != aftercare.Ambiguous {
				t.Fatalf("Send error = %+v; want ambiguous", se)
			}
			r, found, err := s.Lookup(context.Background(), m, now)
			if err != nil || !found {
				t.Fatalf("Lookup = %+v, %v, %v; want found", r, found, err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 || r.ProviderID != msgs[0].SID || r.ProviderStatus != "queued" {
				t.Errorf("Lookup = %+v; fake has %+v", r, msgs)
			}
		})
	}
}

// More messages to the number than fit on one page: Lookup follows
// next_page_uri.
func TestLookupPages(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	m := outgoing(patient)
	want := srv.Add(twiliotest.Message{To: patient, From: fromNumber, Body: m.Body, Status: "delivered", DateCreated: epoch.Add(time.Minute)})
	for i := range 250 {
		srv.Add(twiliotest.Message{To: patient, From: fromNumber, Body: fmt.Sprintf("reminder %d", i), DateCreated: epoch.Add(time.Hour + time.Duration(i)*time.Second)})
	}
	s := newSender(t, srv)
	r, found, err := s.Lookup(context.Background(), m, epoch)
	if err != nil || !found || r.ProviderID != want.SID {
		t.Fatalf("Lookup = %+v, %v, %v; want %s", r, found, err, want.SID)
	}
	noViolations(t, srv)
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv, func(c *twilio.Config) { c.AuthToken = "ffffffffffffffffffffffffffffffff" })
	_, found, err := s.Lookup(context.Background(), outgoing(patient), epoch)
	if err == nil || found {
		t.Fatalf("Lookup = %v, %v; want an error", found, err)
	}
	t.Logf("error: %v", err)
}
