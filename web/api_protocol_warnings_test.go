package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/web"
)

// TestAPIProtocolWarnings: validate and import answer a protocol's warnings
// with their line and column, import stores the protocol all the same, and
// a document without warnings has an empty list.
func TestAPIProtocolWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	yaml := []string{"Content-Type", "application/yaml"}
	check := func(what string, got []web.ProblemJSON) {
		t.Helper()
		want := []web.ProblemJSON{
			{Line: 10, Column: 14, Message: `step "spf": text.en.sms does not give the clinic's phone`},
			{Line: 10, Column: 14, Message: `step "spf": text.en.sms does not start with {{.ClinicName}}`},
			{Line: 10, Column: 20, Message: `step "spf": text.en.sms names the treatment ("peel")`},
		}
		if len(got) != len(want) {
			t.Fatalf("%s: warnings %+v, want %d", what, got, len(want))
		}
		for i := range want {
			if got[i].Line != want[i].Line || got[i].Column != want[i].Column || !strings.HasPrefix(got[i].Message, want[i].Message) {
				t.Errorf("%s: warning %d is %+v, want %+v...", what, i, got[i], want[i])
			}
		}
	}
	var v web.ValidationJSON
	w.do(w.Mgr, "POST", "/api/v1/protocols/validate", warnedPeelYAML, yaml...).decode(t, http.StatusOK, &v)
	if !v.Valid {
		t.Errorf("validate: %+v", v)
	}
	check("validate", v.Warnings)
	var imp web.ProtocolImportJSON
	w.do(w.Mgr, "POST", "/api/v1/protocols", warnedPeelYAML, yaml...).decode(t, http.StatusCreated, &imp)
	if !imp.Created || imp.Slug != "peel" {
		t.Errorf("import: %+v", imp)
	}
	check("import", imp.Warnings)
	res := w.do(w.Mgr, "POST", "/api/v1/protocols/validate", protocolYAML("chemical-peel", "v1"), yaml...)
	res.decode(t, http.StatusOK, &v)
	if v.Warnings == nil || len(v.Warnings) != 0 || !strings.Contains(res.Body, `"warnings":[]`) {
		t.Errorf("no warnings: %s", res.Body)
	}
}
