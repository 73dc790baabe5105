package aftercare

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// Signer makes and checks the signed tokens of links sent to patients (the
// unsubscribe link, the patient page): a purpose, a clinic, an id and an
// expiry, under an HMAC-SHA256 key. Tokens are URL-safe, carry no personal
// data in the clear beyond two numbers, and are refused after they expire,
// for another purpose, or when a single byte differs.
type Signer struct{ key []byte }

// NewSigner returns a Signer with key (at least 32 bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, Errorf(EINVALID, "a signing key needs at least 32 bytes, got %d", len(key))
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Token purposes: a token made for one is refused for another.
const (
	PurposeUnsubscribe = "unsubscribe"
	PurposePatientPage = "page"
)

const tokenBody = 8 + 8 + 8 // clinic, id, expiry (Unix seconds)

// Sign returns a token for purpose naming (clinicID, id) until expires.
func (s *Signer) Sign(purpose string, clinicID, id int64, expires time.Time) string {
	var b [tokenBody]byte
	binary.BigEndian.PutUint64(b[0:], uint64(clinicID))
	binary.BigEndian.PutUint64(b[8:], uint64(id))
	binary.BigEndian.PutUint64(b[16:], uint64(expires.Unix()))
	enc := base64.RawURLEncoding
	return enc.EncodeToString(b[:]) + "." + enc.EncodeToString(s.mac(purpose, b[:]))
}

// Verify checks a token for purpose at now and returns what it names. Any
// fault (malformed, tampered, another purpose, expired) is EFORBIDDEN with
// a message fit for the patient who followed the link.
func (s *Signer) Verify(purpose, token string, now time.Time) (clinicID, id int64, err error) {
	bad := Errorf(EFORBIDDEN, "this link is not valid: it may have been cut short when copied")
	body, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 128 {
		return 0, 0, bad
	}
	enc := base64.RawURLEncoding
	b, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || len(b) != tokenBody || !hmac.Equal(mac, s.mac(purpose, b)) {
		return 0, 0, bad
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(b[16:])), 0); !now.Before(exp) {
		return 0, 0, Errorf(EFORBIDDEN, "this link has expired")
	}
	return int64(binary.BigEndian.Uint64(b[0:])), int64(binary.BigEndian.Uint64(b[8:])), nil
}

func (s *Signer) mac(purpose string, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}

// SecretStore keeps the server's own secrets (the key that signs
// unsubscribe and patient-page links) in the database, so that every
// process sharing it signs alike and a restart keeps links working.
type SecretStore interface {
	// Secret returns the secret stored under name, storing gen() there
	// first when there is none (the first caller wins a race).
	Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error)
}
