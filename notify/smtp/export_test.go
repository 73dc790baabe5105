package smtp

import "crypto/x509"

// TrustRoots makes s trust the certificates in pool, for tests against a
// server with a self-signed certificate.
func TrustRoots(s *Sender, pool *x509.CertPool) { s.tlsConfig.RootCAs = pool }
