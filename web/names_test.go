package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestNamesRefuseInvisibleCharacters: through the server, a patient, a
// clinic and a user named with a text-direction override or a zero-width
// character are refused with a message naming the character; nothing is
// stored.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	w := newWorld(t)
	req := anaRequest()
	req["name"] = "Bea\u200bTrice"
	if r := w.do(w.FD, "POST", "/api/v1/enrollments", req); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "U+200B") {
		t.Errorf("enroll with a zero-width space in the name: %d %s, want 400 naming U+200B", r.Status, r.Body)
	}
	if r := w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"name": "Glow\u202eoidutS"}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "U+202E") {
		t.Errorf("clinic renamed with a right-to-left override: %d %s, want 400 naming U+202E", r.Status, r.Body)
	}
	admin := w.SignIn(w.Main, aftercare.RoleAdmin)
	code, body, _ := mgrPost(admin, "/users", url.Values{"email": {"eve@main.example"}, "name": {"Eve \u2067Admin\u2069"}, "role": {"frontdesk"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "U&#43;2067") {
		t.Errorf("a user named with an isolate: %d, want 400 naming U+2067", code)
	}
	if _, err := w.DB.FindUserByEmail(t.Context(), "eve@main.example"); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("the refused user was stored: %v", err)
	}
}
