package smtp

import "github.com/aftercare/aftercare"

// plainBody is m.Body with the patient's page link as its last paragraph
// when the dispatcher gave one (Outgoing.PageURL). The HTML part is made
// from it too, where the URL becomes a link.
func plainBody(m *aftercare.Outgoing) string {
	if m.PageURL == "" {
		return m.Body
	}
	return m.Body + "\n\n" + aftercare.PageLinkLine(m.Lang, m.PageURL) + "\n"
}
