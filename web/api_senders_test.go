package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestAPIClinicSendersRefused: a clinic admin cannot set or take a sender
// through the API (the operator assigns them): another clinic's number or
// address, or a new one, is refused with 403 and nothing changes; sending
// back the clinic's own values (a GET echoed) is accepted.
func TestAPIClinicSendersRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	other, err := w.DB.FindClinic(ctx, w.Other.Slug)
	if err != nil {
		t.Fatal(err)
	}
	other.SMSFrom, other.EmailFrom = "+14155550177", "care@other.example"
	if err := w.DB.UpdateClinic(ctx, other); err != nil {
		t.Fatal(err)
	}
	before := w.snapshot(t)
	for _, x := range []struct{ name, body, field string }{
		{"OtherClinicsNumber", `{"name": "Other Spa", "sms_from": "+14155550177"}`, "sms_from"},
		{"OtherClinicsAddress", `{"email_from": "care@other.example"}`, "email_from"},
		{"NewNumber", `{"sms_from": "+14155550188"}`, "sms_from"},
	} {
		t.Run(x.name, func(t *testing.T) {
			res := w.do(w.Admin, "PATCH", "/api/v1/clinic", x.body)
			e := res.apiErr(t)
			if res.Status != http.StatusForbidden || !strings.HasPrefix(e.Message, x.field+":") || !strings.Contains(e.Message, "operator") {
				t.Errorf("%d %+v; want 403 saying the operator assigns %s", res.Status, e, x.field)
			}
		})
	}
	w.unchanged(t, before, "refused sender changes")
	main, _ := w.DB.FindClinic(ctx, w.Main.Slug)
	if main.SMSFrom != "" || main.EmailFrom != "" {
		t.Errorf("the main clinic's senders: %q %q, want none", main.SMSFrom, main.EmailFrom)
	}
	// The clinic's own (empty) senders echoed back change nothing and pass.
	if res := w.do(w.Admin, "PATCH", "/api/v1/clinic", `{"name": "Glow Spa", "sms_from": "", "email_from": ""}`); res.Status != http.StatusOK {
		t.Errorf("echoing the clinic's own senders: %d, want 200", res.Status)
	}
	if got, _ := w.DB.FindClinic(ctx, w.Main.Slug); got.Name != "Glow Spa" {
		t.Errorf("name not saved: %q", got.Name)
	}
	// The database refuses a shared sender even from the operator's side.
	main, _ = w.DB.FindClinic(ctx, w.Main.Slug)
	main.SMSFrom = other.SMSFrom
	if err := w.DB.UpdateClinic(ctx, main); aftercare.ErrorCode(err) != aftercare.ECONFLICT || !strings.Contains(aftercare.ErrorMessage(err), "another clinic") {
		t.Errorf("a second clinic with the same sender: %v, want ECONFLICT", err)
	}
}
