package plan

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// t0 is the tests' fixed moment (store/sqlite's tests use the same).
var t0 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

// randomKept returns n kept messages with ids and text ids going up and
// down (some near the ends of int64), send times to the millisecond, zero
// and non-zero expiries, unicode and empty notes, and both channels.
func randomKept(r *rand.Rand, n int) []Kept {
	notes := []string{"", "  spaced, with a newline\n", "moved: the clinic is closed on Sundays", "déplacé — fermeture 🎄", "日本語のメモ", strings.Repeat("ü", 300)}
	steps := []string{"step-00", "sunscreen", "crème-solaire", "日焼け止め", strings.Repeat("x", 200)}
	langs := []string{"en", "es", "pt-BR", ""}
	big := []int64{0, 1, math.MaxInt64, math.MaxInt64 - 1, 1 << 40, 1<<62 + 12345}
	ks := make([]Kept, n)
	id := r.Int64N(1_000_000) + 1
	text := r.Int64N(1_000_000) + 1
	ms := t0.UnixMilli() + r.Int64N(1e10)
	for i := range ks {
		switch r.IntN(4) {
		case 0:
			id = big[r.IntN(len(big))]
		case 1:
			id -= r.Int64N(1000) // down
		default:
			id += r.Int64N(1000) + 1
		}
		switch r.IntN(4) {
		case 0:
			text = big[r.IntN(len(big))]
		case 1:
			text -= r.Int64N(50)
		default:
			text += r.Int64N(50)
		}
		if r.IntN(8) == 0 {
			ms -= r.Int64N(86_400_000) // out of order: the form must not care
		} else {
			ms += r.Int64N(3 * 86_400_000)
		}
		k := Kept{
			ID:       id,
			Step:     steps[r.IntN(len(steps))],
			Occ:      r.IntN(20),
			Channel:  channelCodes[r.IntN(len(channelCodes))],
			Lang:     langs[r.IntN(len(langs))],
			SendAt:   time.UnixMilli(ms).UTC(),
			Note:     notes[r.IntN(len(notes))],
			TextID:   text,
			Segments: r.IntN(12),
		}
		switch r.IntN(3) {
		case 0: // none
		case 1:
			k.Expires = k.SendAt // expiry at the send time itself
		default:
			k.Expires = k.SendAt.Add(time.Duration(r.Int64N(7*86_400_000)) * time.Millisecond)
		}
		ks[i] = k
	}
	return ks
}

func keptString(k Kept) string {
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("id=%d step=%q occ=%d channel=%s lang=%q send=%s expires=%s note=%q text=%d segments=%d",
		k.ID, k.Step, k.Occ, k.Channel, k.Lang, tm(k.SendAt), tm(k.Expires), k.Note, k.TextID, k.Segments)
}

// sameKept reports whether a and b hold the same messages, times compared
// with Equal.
func sameKept(a, b []Kept) bool {
	return slices.EqualFunc(a, b, func(x, y Kept) bool {
		return x.ID == y.ID && x.Step == y.Step && x.Occ == y.Occ && x.Channel == y.Channel && x.Lang == y.Lang &&
			x.SendAt.Equal(y.SendAt) && x.Expires.Equal(y.Expires) && x.Expires.IsZero() == y.Expires.IsZero() &&
			x.Note == y.Note && x.TextID == y.TextID && x.Segments == y.Segments
	})
}

func diffKept(t *testing.T, what string, got, want []Kept) {
	t.Helper()
	if sameKept(got, want) {
		return
	}
	t.Errorf("%s: got %d messages, want %d", what, len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = keptString(got[i])
		}
		if i < len(want) {
			w = keptString(want[i])
		}
		if g != w {
			t.Errorf("  [%d] got  %s\n       want %s", i, g, w)
		}
	}
}

// shortHex shows the start of b.
func shortHex(b []byte) string {
	if len(b) > 24 {
		return fmt.Sprintf("%x... (%d bytes)", b[:24], len(b))
	}
	return fmt.Sprintf("%x", b)
}

// tryParse is Parse, with a panic returned rather than raised.
func tryParse(b []byte) (ks []Kept, panicked any, err error) {
	defer func() { panicked = recover() }()
	ks, err = Parse(b)
	return ks, nil, err
}

func tryCount(b []byte) (n int, panicked any, err error) {
	defer func() { panicked = recover() }()
	n, err = Count(b)
	return n, nil, err
}

// The planned column's form gives back what was written, and Count
// reads its count.
func TestPlannedRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(8, 2026))
	for i := range 500 {
		ks := randomKept(r, r.IntN(30)+1)
		b := Append(nil, ks)
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("case %d: Parse: %v", i, err)
		}
		diffKept(t, fmt.Sprintf("case %d", i), got, ks)
		if n, err := Count(b); err != nil || n != len(ks) {
			t.Errorf("case %d: Count = %d, %v; want %d", i, n, err, len(ks))
		}
		// Append appends.
		prefix := []byte("xyz")
		if b2 := Append(prefix, ks); string(b2[:3]) != "xyz" || string(b2[3:]) != string(b) {
			t.Errorf("case %d: Append does not append to dst", i)
		}
		if t.Failed() {
			return
		}
	}

	t.Run("Edges", func(t *testing.T) {
		at := time.UnixMilli(t0.UnixMilli() + 7).UTC()
		ks := []Kept{
			{ID: math.MaxInt64, Step: "a", Channel: aftercare.Email, SendAt: at, TextID: math.MaxInt64, Segments: 0},
			{ID: 1, Step: "", Channel: aftercare.SMS, SendAt: at, Expires: at, TextID: 1},
			{ID: math.MaxInt64, Step: "b", Occ: 1 << 30, Channel: aftercare.SMS, SendAt: at.Add(-time.Hour),
				Expires: at.Add(1000 * 24 * time.Hour), Note: "é", TextID: 0, Segments: 1 << 20},
			{ID: 0, Step: "c", Channel: aftercare.Email, SendAt: time.UnixMilli(0).UTC(), TextID: -5},
		}
		got, err := Parse(Append(nil, ks))
		if err != nil {
			t.Fatal(err)
		}
		diffKept(t, "edges", got, ks)
	})

	t.Run("None", func(t *testing.T) {
		for _, b := range [][]byte{nil, {}, Append(nil, nil)} {
			ks, err := Parse(b)
			if ks != nil || err != nil {
				t.Errorf("Parse(%x) = %v, %v; want nil, nil", b, ks, err)
			}
			if n, err := Count(b); n != 0 || err != nil {
				t.Errorf("Count(%x) = %d, %v; want 0, nil", b, n, err)
			}
		}
	})
}

// An expiry before the send time (which nothing refuses) is kept as it was
// planned: the form must not turn it into no expiry at all.
func TestPlannedExpiryBeforeSend(t *testing.T) {
	t.Parallel()
	send := time.UnixMilli(t0.UnixMilli()).UTC()
	for _, before := range []time.Duration{time.Millisecond, 2 * time.Millisecond, time.Hour} {
		ks := []Kept{{ID: 1, Step: "s", Channel: aftercare.SMS, SendAt: send, Expires: send.Add(-before), TextID: 1}}
		got, err := Parse(Append(nil, ks))
		if err != nil {
			t.Fatal(err)
		}
		diffKept(t, fmt.Sprintf("expiry %v before the send time", before), got, ks)
	}
}

// Damaged columns are errors, never a panic and never messages.
func TestPlannedDamaged(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	valid := Append(nil, randomKept(r, 5))

	check := func(t *testing.T, what string, in []byte) {
		t.Helper()
		b := shortHex(in)
		ks, p, err := tryParse(in)
		switch {
		case p != nil:
			t.Errorf("%s: Parse(%s) panics: %v", what, b, p)
		case err == nil:
			t.Errorf("%s: Parse(%s) = %d messages, want an error", what, b, len(ks))
		case ks != nil:
			t.Errorf("%s: Parse returns messages with its error", what)
		}
		if n, p, err := tryCount(in); p != nil {
			t.Errorf("%s: Count(%s) panics: %v", what, b, p)
		} else if err == nil && n < 0 {
			t.Errorf("%s: Count(%s) = %d, nil: a negative count", what, b, n)
		}
	}

	t.Run("Version", func(t *testing.T) {
		for _, v := range []byte{0, 2, 3, 0x7f, 0xff} {
			b := slices.Clone(valid)
			b[0] = v
			check(t, fmt.Sprintf("version %d", v), b)
			if _, err := Count(b); err == nil {
				t.Errorf("version %d: Count has no error", v)
			}
		}
	})
	t.Run("CutShort", func(t *testing.T) {
		for _, enc := range [][]byte{valid, Append(nil, randomKept(r, 1)), Append(nil, randomKept(r, 30))} {
			for n := 1; n < len(enc); n++ {
				check(t, fmt.Sprintf("the first %d of %d bytes", n, len(enc)), slices.Clone(enc[:n]))
			}
			if _, err := Parse(enc); err != nil {
				t.Errorf("the whole encoding: %v", err)
			}
		}
	})
	t.Run("Trailing", func(t *testing.T) {
		for _, tail := range [][]byte{{0}, {1}, {0xff}, valid} {
			check(t, fmt.Sprintf("with %x after", tail), append(slices.Clone(valid), tail...))
		}
		check(t, "no message but a byte after", []byte{plannedVersion, 0, 0})
	})
	t.Run("Channel", func(t *testing.T) {
		k := Kept{ID: 300, Step: "step", Occ: 2, Channel: aftercare.Email, Lang: "en", SendAt: time.UnixMilli(t0.UnixMilli()).UTC(), TextID: 9}
		b := Append(nil, []Kept{k})
		pos := 2 + len(binary.AppendVarint(nil, k.ID)) + len(appendBytes(nil, k.Step)) + len(binary.AppendUvarint(nil, uint64(k.Occ)))
		if b[pos] != 1 {
			t.Fatalf("byte %d of %x is %d, not email's code", pos, b, b[pos])
		}
		for _, code := range []byte{2, 3, 0x80, 0xff} {
			bad := slices.Clone(b)
			bad[pos] = code
			check(t, fmt.Sprintf("channel code %d", code), bad)
		}
		// A channel Append has no code for does not come back.
		k.Channel = "fax"
		check(t, "channel fax", Append(nil, []Kept{k}))
	})
	t.Run("Counts", func(t *testing.T) {
		one := Append(nil, randomKept(r, 1))
		more := slices.Clone(one)
		more[1] = 2 // says two, has one
		check(t, "a count of 2 with one message", more)
		huge := func(n uint64) []byte {
			return append(binary.AppendUvarint([]byte{plannedVersion}, n), one[2:]...)
		}
		for _, n := range []uint64{1 << 31, 1 << 32, 1 << 62, math.MaxInt64, 1 << 63, math.MaxUint64} {
			check(t, fmt.Sprintf("a count of %d", n), huge(n))
		}
		check(t, "a count that overflows", append([]byte{plannedVersion}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
		check(t, "a count cut short", []byte{plannedVersion, 0x80})
	})
	t.Run("Lengths", func(t *testing.T) {
		// version, count 1, id 1, then a step key longer than what is left.
		for _, n := range []uint64{1, 100, 1 << 32, 1 << 63, math.MaxUint64} {
			b := binary.AppendUvarint([]byte{plannedVersion, 1, 2}, n)
			check(t, fmt.Sprintf("a step key of %d bytes", n), append(b, "abc"...))
		}
	})
}

// FuzzParsePlanned: Parse never panics, and what it reads is written
// back and read again the same.
func FuzzParsePlanned(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 6 {
		f.Add(Append(nil, randomKept(r, n)))
	}
	f.Add([]byte(nil))
	b := Append(nil, randomKept(r, 3))
	f.Add(b[:len(b)/2])
	f.Add(append(slices.Clone(b), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := Parse(b)
		if err != nil {
			if ks != nil {
				t.Fatalf("Parse returns %d messages with its error %v", len(ks), err)
			}
			return
		}
		if n, err := Count(b); err != nil || n != len(ks) {
			t.Fatalf("Count = %d, %v; Parse read %d", n, err, len(ks))
		}
		b2 := Append(nil, ks)
		ks2, err := Parse(b2)
		if err != nil {
			t.Fatalf("Parse(Append(%d messages read)) = %v", len(ks), err)
		}
		diffKept(t, "read, written and read again", ks2, ks)
		if b3 := Append(nil, ks2); string(b3) != string(b2) {
			t.Fatalf("writing the same messages twice gives %x then %x", b2, b3)
		}
	})
}

// BenchmarkPlannedCodec compares the planned column's binary form
// (plancodec.go) with JSON, the form it replaced, for the built-in
// protocol's 25 kept messages: the bytes each writes per enrollment and the
// time to write and read them.
func BenchmarkPlannedCodec(b *testing.B) {
	// 25 reminders a day apart, as the built-in protocol keeps them.
	start := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
	ks := make([]Kept, 25)
	for i := range ks {
		send := start.Add(time.Duration(i) * 24 * time.Hour)
		ks[i] = Kept{ID: 1000 + int64(i), Step: fmt.Sprintf("day-%d", i+1), Channel: channelCodes[i%2], Lang: "en",
			SendAt: send, Expires: send.Add(24 * time.Hour), TextID: 40 + int64(i), Segments: 1}
	}
	type jsonKept struct {
		ID       int64     `json:"id"`
		Step     string    `json:"step_key"`
		Occ      int       `json:"occurrence"`
		Channel  string    `json:"channel"`
		Lang     string    `json:"lang"`
		SendAt   time.Time `json:"send_at"`
		Expires  time.Time `json:"expires_at"`
		Note     string    `json:"note"`
		TextID   int64     `json:"text_id"`
		Segments int       `json:"segments"`
	}
	js := make([]jsonKept, len(ks))
	for i, k := range ks {
		js[i] = jsonKept{k.ID, k.Step, k.Occ, string(k.Channel), k.Lang, k.SendAt, k.Expires, k.Note, k.TextID, k.Segments}
	}
	bin := Append(nil, ks)
	jb, err := json.Marshal(js)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode/binary", func(b *testing.B) {
		buf := make([]byte, 0, 2*len(bin))
		for b.Loop() {
			buf = Append(buf[:0], ks)
		}
		b.ReportMetric(float64(len(bin)), "bytes/enrollment")
	})
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(js); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(jb)), "bytes/enrollment")
	})
	b.Run("decode/binary", func(b *testing.B) {
		for b.Loop() {
			if _, err := Parse(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			var out []jsonKept
			if err := json.Unmarshal(jb, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
