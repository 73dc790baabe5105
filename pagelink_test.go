package aftercare_test

import (
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestWithPageLink: the link goes on its own line before the opt-out
// notice (or last), once; WithoutAdditions takes both away again; the
// labels keep a GSM-7 text GSM-7.
func TestWithPageLink(t *testing.T) {
	const url = "https://care.example/p/abc.def"
	body, _ := aftercare.WithOptOutNotice("Glow: hello.", "en")
	got, segs := aftercare.WithPageLink(body, "en", url)
	want := "Glow: hello.\nYour aftercare page: " + url + "\n" + aftercare.OptOutNotice("en")
	if got != want {
		t.Fatalf("with notice:\n%s\nwant\n%s", got, want)
	}
	if again, _ := aftercare.WithPageLink(got, "en", url); again != got {
		t.Errorf("a second call changed the text:\n%s", again)
	}
	if n, _ := aftercare.Segments(got); n != segs {
		t.Errorf("segments %d, want %d", segs, n)
	}
	if got, _ := aftercare.WithPageLink("Glow: hola.", "es-MX", url); got != "Glow: hola.\nSus indicaciones: "+url {
		t.Errorf("without notice, Spanish:\n%s", got)
	}
	if back := aftercare.WithoutAdditions(want, "en"); back != "Glow: hello." {
		t.Errorf("WithoutAdditions: %q", back)
	}
	// A line of the protocol's own that merely starts like the label stays.
	if keep := aftercare.WithoutAdditions("Your aftercare page: ask us for it", "en"); !strings.Contains(keep, "ask us") {
		t.Errorf("WithoutAdditions removed the protocol's own line: %q", keep)
	}
	for _, lang := range []string{"en", "es"} {
		if _, enc := aftercare.Segments(aftercare.PageLinkLine(lang, url)); enc != aftercare.GSM7 {
			t.Errorf("%s link line is %s", lang, enc)
		}
	}
}
