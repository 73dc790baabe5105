package smtp

import (
	"crypto/x509"
	"strings"
)

// TrustRoots makes s trust the certificates in pool, for tests against a
// server with a self-signed certificate.
func TrustRoots(s *Sender, pool *x509.CertPool) { s.tlsConfig.RootCAs = pool }

// BodyHTML is the HTML of a plain-text body without the inline styles, so
// tests can spell out the expected elements.
func BodyHTML(body string) string {
	var b strings.Builder
	writeBody(&b, body, nil)
	return b.String()
}

// RenderHTML is the HTML part of m.
var RenderHTML = renderHTML
