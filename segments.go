package aftercare

// SMS encodings reported by Segments.
const (
	GSM7 = "GSM-7" // the GSM 03.38 default alphabet, 7 bits a character
	UCS2 = "UCS-2" // 16 bits a code unit; any character outside GSM-7 forces it
)

// Segment sizes. A message that fits the single size is sent as one SMS;
// a longer one is split into parts of the concatenated size, because each
// part carries a 6-byte header that joins the parts on the phone.
const (
	gsmSingle  = 160 // septets
	gsmConcat  = 153
	ucs2Single = 70 // UTF-16 code units
	ucs2Concat = 67
)

// The part sizes of a text longer than one segment, exported for the
// protocol checker's "at most N segments, about M characters".
const (
	GSM7ConcatSize = gsmConcat  // septets per part
	UCS2ConcatSize = ucs2Concat // UTF-16 code units per part
)

// gsmCost is the number of septets of each ASCII character in the GSM 03.38
// default alphabet: 1 for the basic set, 2 for the extension table (sent as
// ESC + character), 0 for characters GSM-7 cannot carry (such as '`', tab
// and most control characters).
var gsmCost = func() (t [128]uint8) {
	for c := ' '; c <= '~'; c++ {
		t[c] = 1
	}
	t['`'] = 0
	for _, c := range "^{}\\[~]|" {
		t[c] = 2
	}
	t['\n'] = 1
	t['\r'] = 1
	t['\f'] = 2
	return t
}()

// gsmRuneCost is gsmCost for characters outside ASCII.
func gsmRuneCost(r rune) int {
	if r < 128 {
		return int(gsmCost[r])
	}
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ',
		'Æ', 'æ', 'ß', 'É', '¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
		'¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	case '€':
		return 2
	}
	return 0
}

// Segments returns how many SMS parts body is sent as and the encoding that
// decides it. A body made only of GSM 03.38 default-alphabet characters is
// sent as GSM-7: up to 160 septets in one message, 153 per part when split;
// the extension characters ^ { } \ [ ] ~ | € and form feed take two septets.
// Any other character (á, í, ó, ú, curly quotes, emoji) switches the whole
// message to UCS-2: 70 UTF-16 code units in one message, 67 per part, an
// emoji taking two. As phones do, a part never splits an escape pair or a
// surrogate pair, so a part may hold one unit less than its size.
// The empty body is 0 segments of GSM-7.
func Segments(body string) (n int, encoding string) {
	if body == "" {
		return 0, GSM7
	}
	septets, gsm := 0, true
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c < 128 {
			if gsmCost[c] == 0 {
				gsm = false
				break
			}
			septets += int(gsmCost[c])
			continue
		}
		// Slow path for the few non-ASCII characters GSM-7 has.
		for _, r := range body[i:] {
			cost := gsmRuneCost(r)
			if cost == 0 {
				gsm = false
				break
			}
			septets += cost
		}
		break
	}
	if gsm {
		if septets <= gsmSingle {
			return 1, GSM7
		}
		return pack(body, gsmConcat, gsmRuneCost), GSM7
	}
	units := 0
	for _, r := range body {
		units += ucs2Cost(r)
	}
	if units <= ucs2Single {
		return 1, UCS2
	}
	return pack(body, ucs2Concat, ucs2Cost), UCS2
}

// ucs2Cost is the number of UTF-16 code units of r.
func ucs2Cost(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// pack counts the parts of size units needed for body when no character is
// split across two parts.
func pack(body string, size int, cost func(rune) int) int {
	parts, used := 1, 0
	for _, r := range body {
		c := cost(r)
		if used+c > size {
			parts++
			used = 0
		}
		used += c
	}
	return parts
}
