package smtp

import (
	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// plainBody is m.Body with the patient's page link as its last paragraph
// when the dispatcher gave one (Outgoing.PageURL). The HTML part is made
// from it too, where the URL becomes a link.
func plainBody(m *aftercare.Outgoing) string {
	if m.PageURL == "" {
		return m.Body
	}
	return m.Body + "\n\n" + templates.PageLinkLine(m.Lang, m.PageURL) + "\n"
}
