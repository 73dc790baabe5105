package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// A narrower send window or a lower daily cap changes when (and, with
// steps that expire, whether) patients get their aftercare. Before such a
// change is saved, CheckSettings plans each of the clinic's protocols for
// two sample treatments, one in the morning and one in the evening, and
// lists what the new settings would move or drop, so that the person
// changing them sees it first.

// SampleTreatments are the local times the sample treatments end: a
// morning one, whose same-day steps fall in the afternoon, and an evening
// one, whose steps run into quiet hours.
var SampleTreatments = []aftercare.Clock{10 * 60, 18 * 60}

// SettingsWarning is one message of a sample treatment that a clinic's send
// window or daily cap moves or drops.
type SettingsWarning struct {
	Protocol   string    // the protocol's slug
	Treated    time.Time // the sample treatment's end, in the clinic's zone
	Step       string
	Occurrence int // which firing of a recurring step, from 0
	Channel    aftercare.Channel
	// Due is when the protocol plans the message, and Day its day counted
	// from the treatment's (day 0), both in the clinic's zone.
	Due time.Time
	Day int
	// MovedTo is where the window or cap puts it, and MovedDay its day;
	// zero for a dropped message.
	MovedTo  time.Time
	MovedDay int
	Dropped  bool
	Reason   string // what Expand noted about it, DST notes left out
	// New is set when the current settings do not move or drop it so.
	New bool
}

// Outcome says what happens to the message: "moved to day 1 08:00" or
// "dropped: <reason>".
func (w SettingsWarning) Outcome() string {
	if w.Dropped {
		if w.Reason == "" {
			return "dropped"
		}
		return "dropped: " + w.Reason
	}
	return fmt.Sprintf("moved to day %d %s", w.MovedDay, w.MovedTo.Format("15:04"))
}

func (w SettingsWarning) String() string {
	return fmt.Sprintf("%s, treatment ending %s: step %s (%s), due day %d %s: %s",
		w.Protocol, w.Treated.Format("15:04"), w.Step, w.Channel, w.Day, w.Due.Format("15:04"), w.Outcome())
}

// NewWarnings returns the warnings marked New.
func NewWarnings(ws []SettingsWarning) []SettingsWarning {
	var out []SettingsWarning
	for _, w := range ws {
		if w.New {
			out = append(out, w)
		}
	}
	return out
}

// SendingChanged reports whether b sends on a different window or cap than
// a: only then can CheckSettings find anything new.
func SendingChanged(a, b *aftercare.Clinic) bool {
	return a.Window != b.Window || a.DailyCap != b.DailyCap
}

// ReferenceDay is the day the sample treatments are on: the first
// Wednesday after now in loc that is 24 hours long, an ordinary weekday on
// which no zone changes its clocks.
func ReferenceDay(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	d = d.AddDate(0, 0, 1)
	for d.Weekday() != time.Wednesday {
		d = d.AddDate(0, 0, 1)
	}
	for i := 0; i < 8 && d.AddDate(0, 0, 1).Sub(d) != 24*time.Hour; i++ {
		d = d.AddDate(0, 0, 7)
	}
	return d
}

// CheckSettings plans the latest version of each of the clinic's protocols
// for a treatment ending at each of SampleTreatments on ReferenceDay (a
// patient in the proposed clinic's zone, on every channel), and returns
// each message the proposed send window and daily cap move or drop, in
// protocol, treatment and send order. A warning is New when the current
// settings (read in the proposed zone, so that only the window and cap
// differ) do not do the same to that message.
func (s *Service) CheckSettings(ctx context.Context, current, proposed *aftercare.Clinic) ([]SettingsWarning, error) {
	loc, err := aftercare.LoadZone(proposed.TZ)
	if err != nil {
		return nil, err
	}
	stored, err := s.Store.ListProtocols(ctx, proposed.ID)
	if err != nil {
		return nil, err
	}
	day := ReferenceDay(s.Now(), loc)
	was := *current
	was.TZ = proposed.TZ
	// Unbounded: a window of the whole day and no cap, which leave every
	// message at the time its protocol plans it.
	free := *proposed
	free.Window, free.DailyCap = aftercare.Window{Start: 0, End: 24 * 60}, 0
	var out []SettingsWarning
	for _, sp := range stored {
		cp, err := s.compile(sp)
		if err != nil {
			return nil, err
		}
		for _, at := range SampleTreatments {
			treated, _ := aftercare.WallTime(loc, day.Year(), day.Month(), day.Day(), at.Hour(), at.Minute())
			sample := func(c *aftercare.Clinic) ([]*aftercare.Message, error) {
				return Expand(Plan{
					Protocol: cp.Protocol, Renderer: cp.Renderer, Clinic: c,
					Patient:   &aftercare.Patient{Name: "Alex", TZ: proposed.TZ, Lang: cp.Languages[0]},
					TreatedAt: treated, AllChannels: true,
				})
			}
			planned, err := sample(&free)
			if err != nil {
				return nil, err
			}
			due := map[sampleKey]time.Time{}
			for _, m := range planned {
				due[keyOf(m)] = m.SendAt
			}
			before, err := sample(&was)
			if err != nil {
				return nil, err
			}
			old := map[sampleKey]string{}
			for _, m := range before {
				if w, ok := warningOf(m, due, day, loc); ok {
					old[keyOf(m)] = w.Outcome()
				}
			}
			after, err := sample(proposed)
			if err != nil {
				return nil, err
			}
			for _, m := range after {
				w, ok := warningOf(m, due, day, loc)
				if !ok {
					continue
				}
				w.Protocol, w.Treated = cp.Slug, treated.In(loc)
				prev, had := old[keyOf(m)]
				w.New = !had || prev != w.Outcome()
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// sampleKey names a message of one sample expansion.
type sampleKey struct {
	step       string
	occurrence int
	channel    aftercare.Channel
}

func keyOf(m *aftercare.Message) sampleKey { return sampleKey{m.StepKey, m.Occurrence, m.Channel} }

// Expand's notes that say the window or the cap moved a message.
var movedNotes = []string{"quiet hours:", "daily cap:"}

// warningOf reads from Expand's Status and Note whether m was dropped or
// moved by the window or the cap (not by DST), and when it was due
// (from due, or its own time when due lacks it).
func warningOf(m *aftercare.Message, due map[sampleKey]time.Time, day time.Time, loc *time.Location) (SettingsWarning, bool) {
	var reasons []string
	moved := false
	for _, n := range strings.Split(m.Note, "; ") {
		n = strings.TrimSpace(n)
		if n == "" || strings.HasPrefix(n, "DST:") {
			continue
		}
		reasons = append(reasons, n)
		for _, p := range movedNotes {
			moved = moved || strings.HasPrefix(n, p)
		}
	}
	dropped := m.Status == aftercare.StatusSkipped
	if !dropped && !moved {
		return SettingsWarning{}, false
	}
	w := SettingsWarning{Step: m.StepKey, Occurrence: m.Occurrence, Channel: m.Channel, Dropped: dropped,
		Reason: strings.Join(reasons, "; ")}
	w.Due = m.SendAt
	if t, ok := due[keyOf(m)]; ok {
		w.Due = t
	}
	w.Due = w.Due.In(loc)
	w.Day = daysFrom(day, w.Due)
	if !dropped {
		w.MovedTo = m.SendAt.In(loc)
		w.MovedDay = daysFrom(day, w.MovedTo)
	}
	return w, true
}

// daysFrom counts calendar days from day to t's local date.
func daysFrom(day, t time.Time) int {
	y, m, d := t.Date()
	a := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	b := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	return int(a.Sub(b).Hours() / 24)
}

// ClinicUpdate is what CheckedUpdateClinic did.
type ClinicUpdate struct {
	// Clinic is the clinic as saved, or as it would have been.
	Clinic *aftercare.Clinic
	// Warnings lists what the new window and cap move or drop (see
	// CheckSettings); nil when neither changes.
	Warnings []SettingsWarning
	Saved    bool
}

// CheckedUpdateClinic applies ch like UpdateClinic, but when the send
// window or daily cap changes it first checks them with CheckSettings, and
// saves only if that finds nothing new or the change is confirmed (the
// person saw the warnings and saves anyway). EINVALID when a setting is
// wrong; nothing is saved then.
func (s *Service) CheckedUpdateClinic(ctx context.Context, slug string, ch ClinicChanges, confirmed bool) (*ClinicUpdate, error) {
	current, c, err := s.ProposeClinic(ctx, slug, ch)
	if err != nil {
		return nil, err
	}
	u := &ClinicUpdate{Clinic: c}
	if SendingChanged(current, c) {
		if u.Warnings, err = s.CheckSettings(ctx, current, c); err != nil {
			return nil, err
		}
		if len(NewWarnings(u.Warnings)) > 0 && !confirmed {
			return u, nil
		}
	}
	if err := s.Store.UpdateClinic(ctx, c); err != nil {
		return nil, err
	}
	u.Saved = true
	return u, s.Audit(ctx, c.ID, aftercare.AuditClinicUpdate, "clinic "+c.Slug, clinicChanged(current, c))
}
