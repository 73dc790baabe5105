package aftercare

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Channel is how a message reaches a patient.
type Channel string

// The channels.
const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// ParseChannel reads "sms" or "email".
func ParseChannel(s string) (Channel, error) {
	switch Channel(s) {
	case SMS, Email:
		return Channel(s), nil
	}
	return "", FieldErrorf("channel", "unknown channel %q: use sms or email", s)
}

// TimingKind says how a step's time is given.
type TimingKind string

// The timing kinds: an offset after (or before) the end of the treatment, a
// day and local time, or a recurrence in local time inside a window of days.
const (
	TimingAfter  TimingKind = "after"
	TimingBefore TimingKind = "before"
	TimingDayAt  TimingKind = "day"
	TimingEvery  TimingKind = "every"
)

// Timing is when a step fires. Exactly one kind is set.
//
//   - after/before: Offset is exact elapsed time from the end of the treatment
//     (3d is 72 hours, whatever the clocks do in between).
//   - day/at: Day counts local calendar days from the treatment's local date
//     (day 0); At is the local wall-clock time, kept across DST changes.
//   - every: Cron is a five-field cron spec read in the patient's local wall
//     time, expanded for local days FromDay..ToDay inclusive.
type Timing struct {
	Kind    TimingKind
	Offset  time.Duration
	Day     int
	At      Clock
	Cron    string
	FromDay int
	ToDay   int
}

func (t Timing) String() string {
	switch t.Kind {
	case TimingAfter:
		return "after " + FormatOffset(t.Offset)
	case TimingBefore:
		return "before " + FormatOffset(t.Offset)
	case TimingDayAt:
		return fmt.Sprintf("day %d at %s", t.Day, t.At)
	case TimingEvery:
		return fmt.Sprintf("every %q from day %d to day %d", t.Cron, t.FromDay, t.ToDay)
	}
	return "no timing"
}

// MaxOffset bounds offsets so a typo cannot schedule a message years away.
const MaxOffset = 366 * 24 * time.Hour

// ParseOffset reads the timing grammar of after:, before: and expires::
// one or more whole numbers each followed by a unit, s, m, h, d (24 hours) or
// w (7 days), e.g. "0s", "90m", "24h", "3d", "2w", "1d12h". Offsets are exact
// elapsed time. The result is between 0 and MaxOffset.
func ParseOffset(s string) (time.Duration, error) {
	bad := func(why string) error {
		return Errorf(EINVALID, "%q is not an offset (%s): write a number and a unit s, m, h, d or w, e.g. 90m, 24h, 3d, 2w", s, why)
	}
	if s == "" {
		return 0, bad("empty")
	}
	var total time.Duration
	rest := s
	seen := map[byte]bool{}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, bad("a number must come before each unit")
		}
		if i == len(rest) {
			return 0, bad("missing unit after " + rest)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(MaxOffset/time.Second) {
			return 0, bad("too large")
		}
		var unit time.Duration
		switch rest[i] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return 0, bad(fmt.Sprintf("unknown unit %q", rest[i]))
		}
		if seen[rest[i]] {
			return 0, bad(fmt.Sprintf("unit %q given twice", rest[i]))
		}
		seen[rest[i]] = true
		if time.Duration(n) > MaxOffset/unit {
			return 0, bad("longer than a year")
		}
		total += time.Duration(n) * unit
		if total > MaxOffset {
			return 0, bad("longer than a year")
		}
		rest = rest[i+1:]
	}
	return total, nil
}

// FormatOffset writes d in the grammar ParseOffset reads, using the largest
// units that divide it exactly.
func FormatOffset(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		c byte
		d time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%c", n, u.c)
			d -= n * u.d
		}
	}
	return b.String()
}

// DefaultExpires is how long after its send time a message is still worth sending.
const DefaultExpires = 12 * time.Hour

// StepText is one language's text of a step. The strings are Go templates
// over the allow-listed fields in templates/.
type StepText struct {
	SMS          string
	EmailSubject string
	EmailBody    string
}

// Priority says which messages the daily cap keeps on time when a
// patient's day is full: an important step (high) is never moved by the
// cap; lower ones move (or, for a recurrence, drop) first.
type Priority int8

// The priorities, lowest first. A step without `priority:` is normal.
const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// ParsePriority reads "low", "normal" or "high".
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "low":
		return PriorityLow, nil
	case "normal", "":
		return PriorityNormal, nil
	case "high":
		return PriorityHigh, nil
	}
	return 0, FieldErrorf("priority", "unknown priority %q: use low, normal or high", s)
}

func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityHigh:
		return "high"
	}
	return "normal"
}

// Step is one instruction of a protocol, sent on each of its channels.
type Step struct {
	Key      string
	Channels []Channel
	Timing   Timing
	Expires  time.Duration
	Priority Priority
	Text     map[string]StepText // by language code
}

// HasChannel reports whether the step is sent on c.
func (s *Step) HasChannel(c Channel) bool {
	for _, x := range s.Channels {
		if x == c {
			return true
		}
	}
	return false
}

// Protocol sources.
const (
	SourceBuiltin = "builtin" // shipped inside the binary (templates/builtin)
	SourceClinic  = "clinic"  // imported by the clinic
)

// Protocol is a treatment's aftercare as data. Protocols are versioned:
// importing the same slug again stores a new version, and an enrollment keeps
// the version it was made on.
type Protocol struct {
	ID        int64
	ClinicID  int64
	Slug      string
	Name      string
	Version   int
	Source    string // SourceBuiltin or SourceClinic
	Languages []string
	// Treatment names the treatment in each language ("microneedling"). A
	// message shows it through {{.Treatment}} only when the clinic allows
	// (Clinic.ShowTreatment); otherwise {{.Treatment}} is the plain word
	// for "treatment", so that no lock screen names what was done.
	Treatment map[string]string
	Steps     []Step
	YAML      string // the document it was parsed from, stored verbatim
	SHA256    string // of YAML
	CreatedAt time.Time
}

// Step returns the step with the given key, or nil.
func (p *Protocol) Step(key string) *Step {
	for i := range p.Steps {
		if p.Steps[i].Key == key {
			return &p.Steps[i]
		}
	}
	return nil
}

// HasLanguage reports whether the protocol has text in lang.
func (p *Protocol) HasLanguage(lang string) bool {
	for _, l := range p.Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// ProtocolStore keeps versioned protocols. The store does not parse YAML: it
// returns what was saved, and templates.Parse turns Protocol.YAML into steps.
type ProtocolStore interface {
	// SaveProtocol stores p as the next version of (p.ClinicID, p.Slug) and
	// sets ID, Version and CreatedAt. Name, Source, Languages, YAML and
	// SHA256 are stored as given; Steps are not stored (they live in YAML).
	SaveProtocol(ctx context.Context, p *Protocol) error
	// FindProtocol returns one version of a slug, the latest for version 0.
	// ENOTFOUND when there is none.
	FindProtocol(ctx context.Context, clinicID int64, slug string, version int) (*Protocol, error)
	// FindProtocolByID returns a protocol version by id. ENOTFOUND.
	FindProtocolByID(ctx context.Context, clinicID, id int64) (*Protocol, error)
	// ListProtocols returns the latest version of each slug, ordered by slug.
	ListProtocols(ctx context.Context, clinicID int64) ([]*Protocol, error)
}
