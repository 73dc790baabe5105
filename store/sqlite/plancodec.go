// A hand-written fast path: the codec of the enrollments' planned column,
// which keeps an enrollment's far-ahead pending messages (plan.go).
//
// What it replaces: the column's first form, JSON (encoding/json of the kept
// messages), and a row per message before that.
// Why: the column is written for every enrollment an import stores, and its
// size was what an import of a hundred thousand patients spent most of its
// writing on: with JSON the Import benchmark (go test ./scheduler -bench
// 'Import/treated=this-week') ran at 4,491 enrollments/s, with no column at
// all at 5,581, and with this form and the next change measured together at
// 5,633-5,822 (docs/performance.md, "Import: messages far ahead kept on
// their enrollment"). BenchmarkPlannedCodec (plancodec_test.go) measures the
// codec alone for 25 reminders: 596 bytes against JSON's 4,516, encoding
// ~0.55 us against ~20-30 us, decoding ~7-11 us against ~65-70 us.
//
// What keeps it honest: TestPlannedRoundTrip, TestPlannedDamaged and
// FuzzParsePlanned (plancodec_test.go): what is written reads back the same,
// and a damaged column is an error, never a panic or invented messages.
// plannedVersion leaves room for another form.

package sqlite

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

// appendPlanned appends ks in the planned column's form.
func appendPlanned(dst []byte, ks []keptMessage) []byte {
	dst = append(dst, plannedVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ks)))
	var id, send, text int64
	for i := range ks {
		k := &ks[i]
		ms := k.sendAt.UnixMilli()
		dst = binary.AppendVarint(dst, k.id-id)
		dst = appendBytes(dst, k.step)
		dst = binary.AppendUvarint(dst, uint64(k.occ))
		code := byte(slices.Index(channelCodes, k.channel)) // checkPlan refused any other
		dst = append(dst, code)
		dst = appendBytes(dst, k.lang)
		dst = binary.AppendVarint(dst, ms-send)
		var exp int64 // 0: none
		if !k.expires.IsZero() {
			if exp = k.expires.UnixMilli() - ms; exp >= 0 {
				exp++
			}
		}
		dst = binary.AppendVarint(dst, exp)
		dst = appendBytes(dst, k.note)
		dst = binary.AppendVarint(dst, k.textID-text)
		dst = binary.AppendUvarint(dst, uint64(k.segments))
		id, send, text = k.id, ms, k.textID
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

// plannedCount returns how many messages a planned column holds.
func plannedCount(b []byte) (int, error) {
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

// parsePlanned reads a planned column (empty or NULL for none).
func parsePlanned(b []byte) ([]keptMessage, error) {
	n, err := plannedCount(b)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	r := plannedReader{b: b}
	r.byte()
	r.uvarint()
	if n == 0 && len(r.b) == 0 {
		return nil, nil
	}
	ks := make([]keptMessage, 0, min(n, len(b)))
	var id, send, text int64
	for range n {
		var k keptMessage
		k.id = id + r.varint()
		k.step = r.str()
		k.occ = int(r.uvarint())
		if c := int(r.byte()); c < len(channelCodes) {
			k.channel = channelCodes[c]
		} else {
			r.fail()
		}
		k.lang = r.str()
		ms := send + r.varint()
		k.sendAt = time.UnixMilli(ms).UTC()
		switch exp := r.varint(); {
		case exp > 0:
			k.expires = time.UnixMilli(ms + exp - 1).UTC()
		case exp < 0:
			k.expires = time.UnixMilli(ms + exp).UTC()
		}
		k.note = r.str()
		k.textID = text + r.varint()
		k.segments = int(r.uvarint())
		if r.err != nil {
			return nil, r.err
		}
		id, send, text = k.id, ms, k.textID
		ks = append(ks, k)
	}
	if len(r.b) != 0 {
		return nil, errors.New("planned messages: the column has bytes after its last message")
	}
	return ks, nil
}
