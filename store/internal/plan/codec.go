// A hand-written fast path: the codec of the enrollments' planned column,
// which keeps an enrollment's far-ahead pending messages (plan.go); both
// engines write it (store/sqlite since its migration 0008, store/postgres
// since its migration 0003), in the same form.
//
// What it replaces: the column's first form, JSON (encoding/json of the kept
// messages), and a row per message before that.
// Why: the column is written for every enrollment an import stores, and its
// size was what an import of a hundred thousand patients spent most of its
// writing on: with JSON the Import benchmark (go test ./scheduler -bench
// 'Import/treated=this-week') ran at 4,491 enrollments/s, with no column at
// all at 5,581, and with this form and the next change measured together at
// 5,633-5,822 (docs/performance.md, "Import: messages far ahead kept on
// their enrollment"). BenchmarkPlannedCodec (codec_test.go) measures the
// codec alone for 25 reminders: 596 bytes against JSON's 4,516, encoding
// ~0.55 us against ~20-30 us, decoding ~7-11 us against ~65-70 us.
//
// What keeps it honest: TestPlannedRoundTrip, TestPlannedDamaged and
// FuzzParsePlanned (codec_test.go): what is written reads back the same,
// and a damaged column is an error, never a panic or invented messages.
// plannedVersion leaves room for another form.

package plan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aftercare/aftercare"
)

// The planned column holds an enrollment's kept messages, in send time
// order, in a compact binary form: the column is written for every
// enrollment an import stores, and its size is what an import of a
// hundred thousand patients spends most of its writing on (about 800 bytes
// for the built-in protocol's 25 kept messages, where JSON took 2,500).
//
//	version  byte 1
//	count    uvarint
//	count times:
//	  id         varint, minus the previous message's id (the first: the id)
//	  step_key   uvarint length, bytes
//	  occurrence uvarint
//	  channel    byte: 0 sms, 1 email
//	  lang       uvarint length, bytes
//	  send_at    varint, Unix milliseconds minus the previous message's (the first: Unix milliseconds)
//	  expires    varint, milliseconds after send_at, plus 1 when not
//	             negative (0: none)
//	  note       uvarint length, bytes
//	  text_id    varint, minus the previous message's text_id (the first: the text_id)
//	  segments   uvarint
const plannedVersion = 1

var channelCodes = []aftercare.Channel{aftercare.SMS, aftercare.Email}

// Append appends ks in the planned column's form.
func Append(dst []byte, ks []Kept) []byte {
	dst = append(dst, plannedVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ks)))
	var id, send, text int64
	for i := range ks {
		k := &ks[i]
		ms := k.SendAt.UnixMilli()
		dst = binary.AppendVarint(dst, k.ID-id)
		dst = appendBytes(dst, k.Step)
		dst = binary.AppendUvarint(dst, uint64(k.Occ))
		code := byte(slices.Index(channelCodes, k.Channel)) // checkPlan refused any other
		dst = append(dst, code)
		dst = appendBytes(dst, k.Lang)
		dst = binary.AppendVarint(dst, ms-send)
		var exp int64 // 0: none
		if !k.Expires.IsZero() {
			if exp = k.Expires.UnixMilli() - ms; exp >= 0 {
				exp++
			}
		}
		dst = binary.AppendVarint(dst, exp)
		dst = appendBytes(dst, k.Note)
		dst = binary.AppendVarint(dst, k.TextID-text)
		dst = binary.AppendUvarint(dst, uint64(k.Segments))
		id, send, text = k.ID, ms, k.TextID
	}
	return dst
}

func appendBytes(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// plannedReader reads the planned column's form.
type plannedReader struct {
	b   []byte
	err error
}

func (r *plannedReader) fail() {
	if r.err == nil {
		r.err = errors.New("planned messages: the column is cut short or damaged")
	}
	r.b = nil
}

func (r *plannedReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *plannedReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *plannedReader) str() string {
	n := r.uvarint()
	if uint64(len(r.b)) < n {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *plannedReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Count returns how many messages a planned column holds.
func Count(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r := plannedReader{b: b}
	if v := r.byte(); v != plannedVersion {
		return 0, fmt.Errorf("planned messages: unknown format %d", v)
	}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) { // a message takes several bytes
		return 0, fmt.Errorf("planned messages: the column says %d messages in %d bytes", n, len(r.b))
	}
	return int(n), r.err
}

// Parse reads a planned column (empty or NULL for none).
func Parse(b []byte) ([]Kept, error) {
	n, err := Count(b)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	r := plannedReader{b: b}
	r.byte()
	r.uvarint()
	if n == 0 && len(r.b) == 0 {
		return nil, nil
	}
	ks := make([]Kept, 0, min(n, len(b)))
	var id, send, text int64
	for range n {
		var k Kept
		k.ID = id + r.varint()
		k.Step = r.str()
		k.Occ = int(r.uvarint())
		if c := int(r.byte()); c < len(channelCodes) {
			k.Channel = channelCodes[c]
		} else {
			r.fail()
		}
		k.Lang = r.str()
		ms := send + r.varint()
		k.SendAt = time.UnixMilli(ms).UTC()
		switch exp := r.varint(); {
		case exp > 0:
			k.Expires = time.UnixMilli(ms + exp - 1).UTC()
		case exp < 0:
			k.Expires = time.UnixMilli(ms + exp).UTC()
		}
		k.Note = r.str()
		k.TextID = text + r.varint()
		k.Segments = int(r.uvarint())
		if r.err != nil {
			return nil, r.err
		}
		id, send, text = k.ID, ms, k.TextID
		ks = append(ks, k)
	}
	if len(r.b) != 0 {
		return nil, errors.New("planned messages: the column has bytes after its last message")
	}
	return ks, nil
}
