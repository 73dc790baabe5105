package web

import (
	"bytes"
	"html/template"
	"net/http"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/docs"
)

// The protocol guide (docs/protocols.md) inside the app, at
// /help/protocols, for whoever writes or reads a protocol.

// HelpPage is the data of the "help" template.
type HelpPage struct {
	HTML template.HTML // the guide, rendered
}

// NavSection marks "Protocols" in the menu: the guide is about them.
func (HelpPage) NavSection() string { return "protocols" }

// protocolGuide renders docs.ProtocolGuide once. goldmark leaves raw HTML
// out (it is not "unsafe"), so the page holds only what Markdown makes;
// headings get the ids the guide's own table of contents links to.
var protocolGuide = sync.OnceValues(func() (template.HTML, error) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithParserOptions(parser.WithAutoHeadingID()))
	var b bytes.Buffer
	if err := md.Convert(docs.ProtocolGuide, &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // goldmark's output of our own guide, raw HTML left out
})

func (s *Server) helpProtocols(w http.ResponseWriter, r *http.Request) {
	html, err := protocolGuide()
	if err != nil {
		s.fail(w, r, aftercare.Errorf(aftercare.EINTERNAL, "rendering the protocol guide: %v", err))
		return
	}
	s.render(w, r, http.StatusOK, "help", "Writing a protocol", HelpPage{HTML: html})
}
