package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/web"
)

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "\r=1": "'\r=1",
		"": "", "550 mailbox": "550 mailbox", " =1": " =1",
	} {
		if got := web.CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// formulaSender refuses every message with an error code and text that a
// spreadsheet would run if they were written as they are.
type formulaSender struct{}

func (formulaSender) Send(context.Context, *aftercare.Outgoing) (aftercare.Receipt, error) {
	return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Code: "\t=cmd|' /C calc'!A0", Message: "\r@SUM(1+1)*cmd|' /C calc'!A0"}
}

// TestCSVExportsNeutraliseTabAndCR: through the server, the log page's
// export and the API's CSV both defuse a provider's error that starts
// with a tab or a carriage return.
func TestCSVExportsNeutraliseTabAndCR(t *testing.T) {
	w := newWorld(t)
	d := &dispatch.Dispatcher{Store: w.DB, Now: w.Now, Owner: "test/2",
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Jitter: func() float64 { return 0 },
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "test", Sender: formulaSender{}}, aftercare.Email: {Name: "test", Sender: formulaSender{}}}}
	w.Advance(48 * time.Hour)
	if _, err := d.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := func(what, body string) {
		t.Helper()
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		found := false
		for _, rec := range recs {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !strings.HasPrefix(cell, "-") {
					t.Errorf("%s: a cell starts with %q: %q", what, cell[0], cell)
				}
				if strings.HasPrefix(cell, "'\t=cmd") || strings.HasPrefix(cell, "'\r@SUM") {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: no defused provider error in\n%s", what, body)
		}
	}
	r := w.do(w.Mgr, "GET", "/api/v1/messages?status=failed", nil, "Accept", "text/csv")
	if r.Status != http.StatusOK {
		t.Fatalf("API CSV: %d %s", r.Status, r.Body)
	}
	check("the API's CSV", r.Body)
	mgr := w.SignIn(w.Main, aftercare.RoleManager)
	resp := mgr.Get("/log.csv?state=failed&since=&until=")
	check("the log page's CSV", readBody(t, resp))
}
