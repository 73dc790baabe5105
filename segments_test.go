package aftercare

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	r := strings.Repeat
	tests := []struct {
		name string
		body string
		n    int
		enc  string
	}{
		{"Empty", "", 0, GSM7},
		{"OneChar", "a", 1, GSM7},
		{"GSM160", r("a", 160), 1, GSM7},
		{"GSM161", r("a", 161), 2, GSM7},
		{"GSM306", r("a", 306), 2, GSM7},
		{"GSM307", r("a", 307), 3, GSM7},
		{"GSM459", r("a", 459), 3, GSM7},
		{"GSM460", r("a", 460), 4, GSM7},
		{"NewlinesAreBasic", r("a\n", 80), 1, GSM7},
		{"GSMAccentsInBasicSet", r("é", 160), 1, GSM7},
		{"GSMSpanishBasic", "¿Mañana? ¡Sé! ü Ñ à è ì ò ù É Ç £ ¥ § ¤ Δ Ω ß Æ å ø", 1, GSM7},
		{"ExtensionCountsTwo", r("€", 80), 1, GSM7},
		{"ExtensionOverflows", r("€", 81), 2, GSM7},
		{"ExtensionMixed159", r("a", 158) + "[", 1, GSM7},
		{"ExtensionMixed161", r("a", 159) + "]", 2, GSM7},
		{"AllExtensionChars", "^{}\\[~]|€\f", 1, GSM7},
		// An escape pair is never split: after 152 septets only one is left
		// in the part, so "{" moves to the next part.
		{"EscapeNotSplit", r("a", 152) + "{" + r("a", 152) + "{", 3, GSM7},
		{"EscapeFits", r("a", 151) + "{" + r("a", 151) + "{", 2, GSM7},
		{"AcuteAForcesUCS2", "á", 1, UCS2},
		{"UCS2_70", r("á", 70), 1, UCS2},
		{"UCS2_71", r("á", 71), 2, UCS2},
		{"UCS2_134", r("á", 134), 2, UCS2},
		{"UCS2_135", r("á", 135), 3, UCS2},
		{"UCS2_201", r("á", 201), 3, UCS2},
		{"UCS2_202", r("á", 202), 4, UCS2},
		{"OneAcuteMakesAllUCS2", r("a", 69) + "í", 1, UCS2},
		{"OneAcuteMakesAllUCS2Over", r("a", 70) + "í", 2, UCS2},
		{"EmojiCountsTwo", r("🙂", 35), 1, UCS2},
		{"EmojiCountsTwoOver", r("🙂", 36), 2, UCS2},
		{"SurrogateFits", r("a", 68) + "🙂", 1, UCS2},
		{"SurrogateNotSplit", r("a", 66) + "🙂" + r("a", 66), 3, UCS2},
		{"SurrogateNaiveWouldSay2", r("a", 65) + "🙂" + r("a", 67), 2, UCS2},
		{"CurlyQuote", "don’t", 1, UCS2},
		{"Backtick", "`", 1, UCS2},
		{"Tab", "a\tb", 1, UCS2},
		{"InvalidUTF8", "\xff", 1, UCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, enc := Segments(tt.body)
			if n != tt.n || enc != tt.enc {
				t.Errorf("Segments(%d chars) = %d, %s; want %d, %s", len([]rune(tt.body)), n, enc, tt.n, tt.enc)
			}
		})
	}
}

// TestSegmentsMonotonic checks what Parse relies on: adding text never
// makes a message take fewer segments, so a body that is too long with
// every field empty is too long with any fields.
func TestSegmentsMonotonic(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", " ", "é", "€", "á", "🙂", "\n", "{"}
	body := ""
	prev := 0
	for i := 0; i < 600; i++ {
		body += alphabet[(i*7+i/13)%len(alphabet)]
		n, _ := Segments(body)
		if n < prev {
			t.Fatalf("Segments went down from %d to %d at %q", prev, n, body)
		}
		prev = n
	}
}

func BenchmarkSegments(b *testing.B) {
	gsm := strings.Repeat("Your care team asks: no makeup for 48 hours. ", 6)
	ucs := strings.Repeat("Le pedimos: sin maquillaje 48 horas, más agua. ", 4)
	b.ReportAllocs()
	for b.Loop() {
		Segments(gsm)
		Segments(ucs)
	}
}
