package scheduler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/templates"
)

// TestPageLinkPreview: the preview of a clinic with links on shows a
// placeholder as long as a real link on its first text, and counts its
// segments; with links off, none.
func TestPageLinkPreview(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pages := schedtest.Pages(t, f.DB)
	f.Svc.Pages = pages
	req := scheduler.PreviewRequest{Protocol: "microneedling", TreatedAt: "2026-11-22T15:00", TZ: "America/Los_Angeles", Lang: "es"}
	real := pages.URLFor(1, 123456, nil)
	for _, on := range []bool{true, false} {
		f.Clinic.PatientLinks = on
		_, msgs, err := f.Svc.Preview(context.Background(), f.Clinic, req)
		if err != nil {
			t.Fatal(err)
		}
		var first *aftercare.Message
		links := 0
		for _, m := range msgs {
			if m.Channel == aftercare.SMS && first == nil {
				first = m
			}
			if strings.Contains(m.Body, "/p/") {
				links++
			}
		}
		if !on {
			if links != 0 {
				t.Errorf("links off: %d previewed messages have a link", links)
			}
			continue
		}
		want := aftercare.PageLinkLine("es", pages.Placeholder())
		if links != 1 || !strings.Contains(first.Body, "\n"+want+"\n") || len(pages.Placeholder()) != len(real) {
			t.Fatalf("links on: %d links; first text:\n%s\nplaceholder %d chars, a real link %d", links, first.Body, len(pages.Placeholder()), len(real))
		}
		if segs, _ := templates.Segments(first.Body); first.Segments != segs {
			t.Errorf("preview counts %d segments for a text of %d", first.Segments, segs)
		}
	}
}
