package aftercare

import (
	"strings"
	"testing"
	"time"
)

func TestSigner(t *testing.T) {
	t.Parallel()
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("o", 32)))
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tok := s.Sign(PurposeUnsubscribe, 7, 42, now.Add(time.Hour))
	t.Run("OK", func(t *testing.T) {
		c, id, err := s.Verify(PurposeUnsubscribe, tok, now)
		if err != nil || c != 7 || id != 42 {
			t.Fatalf("got %d %d %v", c, id, err)
		}
	})
	for _, tt := range []struct {
		name, purpose, token string
		signer               *Signer
		at                   time.Time
	}{
		{"ErrExpired", PurposeUnsubscribe, tok, s, now.Add(time.Hour)},
		{"ErrOtherPurpose", PurposePatientPage, tok, s, now},
		{"ErrOtherKey", PurposeUnsubscribe, tok, other, now},
		{"ErrTruncated", PurposeUnsubscribe, tok[:len(tok)-1], s, now},
		{"ErrNoDot", PurposeUnsubscribe, strings.ReplaceAll(tok, ".", ""), s, now},
		{"ErrEmpty", PurposeUnsubscribe, "", s, now},
		{"ErrTampered", PurposeUnsubscribe, flip(tok, 3), s, now},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tt.signer.Verify(tt.purpose, tt.token, tt.at); ErrorCode(err) != EFORBIDDEN {
				t.Errorf("got %v, want forbidden", err)
			}
		})
	}
	if _, err := NewSigner([]byte("short")); ErrorCode(err) != EINVALID {
		t.Errorf("a short key: %v", err)
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func FuzzSignerVerify(f *testing.F) {
	s, _ := NewSigner([]byte(strings.Repeat("k", 32)))
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f.Add(s.Sign(PurposePatientPage, 1, 2, now.Add(time.Hour)))
	f.Add("x.y")
	f.Fuzz(func(t *testing.T, tok string) {
		c, id, err := s.Verify(PurposePatientPage, tok, now)
		if err == nil && s.Sign(PurposePatientPage, c, id, now.Add(time.Hour)) != tok {
			// Only a token this signer made verifies.
			t.Fatalf("%q verified as %d/%d but is not the signer's", tok, c, id)
		}
	})
}
