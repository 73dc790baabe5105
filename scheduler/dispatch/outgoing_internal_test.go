package dispatch

import (
	"testing"

	"github.com/aftercare/aftercare"
)

// TestOutgoingCarriesLang: the sender gets the message's language, which
// the email's HTML part declares (<html lang>).
func TestOutgoingCarriesLang(t *testing.T) {
	t.Parallel()
	c := &aftercare.Claimed{
		Message: &aftercare.Message{ID: 1, Channel: aftercare.Email, Lang: "es", Subject: "Hola", Body: "Hola, Ana:"},
		Patient: &aftercare.Patient{Name: "Ana", Email: "ana@example.com"},
		Clinic:  &aftercare.Clinic{Name: "Glow"},
	}
	if o := outgoing(c); o.Lang != "es" || o.To != "ana@example.com" || o.Body != "Hola, Ana:" {
		t.Errorf("outgoing = %+v; want Lang es to ana@example.com", o)
	}
}
