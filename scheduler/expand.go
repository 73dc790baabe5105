// Package scheduler turns protocols into dated messages and runs the jobs
// that act on them: expansion of a protocol for one patient (Expand), the
// front desk's operations on enrollments (Service), inbound texts
// (Inbound), and the cron wrapper (Jobs) that runs the dispatcher of
// scheduler/dispatch, which sends what is due.
package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// MaxOccurrences bounds how many times one step may fire for one patient,
// so that a cron typo ("* * * * *") cannot plan thousands of texts. Import
// refuses such a step already (templates.Parse).
const MaxOccurrences = templates.MaxStepOccurrences

// Busy is a message the patient already has from another enrollment; it
// counts toward the daily cap.
type Busy struct {
	At      time.Time
	Channel aftercare.Channel
}

// Plan is the input of Expand.
type Plan struct {
	Protocol  *aftercare.Protocol
	Renderer  *templates.Renderer
	Clinic    *aftercare.Clinic
	Patient   *aftercare.Patient // Name, TZ, Lang and consents are used
	TreatedAt time.Time          // end of the treatment
	// Now is the time of enrollment: steps whose time has passed are
	// skipped. The zero time (a preview) skips nothing.
	Now time.Time
	// AllChannels plans every channel of every step whatever the patient's
	// consent (a preview of the protocol itself).
	AllChannels bool
	Busy        []Busy
	// PageURL, when set, goes on the first SMS with the opt-out notice: a
	// preview shows a placeholder of the patient page link's length, which
	// the dispatcher puts in the text it sends (see dispatch.PageLinks).
	PageURL string
	// Event is what made this plan, for the notes on steps whose time had
	// passed: PlanEnrolled (the zero value), PlanRescheduled or
	// PlanChanged.
	Event PlanEvent
}

// PlanEvent names what made a plan, so that a skipped step's note says
// when its time had passed.
type PlanEvent string

const (
	PlanEnrolled    PlanEvent = ""
	PlanRescheduled PlanEvent = "rescheduled"
	PlanChanged     PlanEvent = "changed"
)

// lateNotes returns the note of a step whose time had passed when the plan
// was made (skipped) and the note of the first step sent late instead.
func (e PlanEvent) lateNotes() (skipped, late string) {
	switch e {
	case PlanRescheduled:
		return "skipped: its time had passed when the enrollment was rescheduled",
			"rescheduled to a time already past: sent as soon as possible"
	case PlanChanged:
		return "skipped: its time had passed when the patient's details changed",
			"planned again after the treatment: sent as soon as possible"
	}
	return "skipped: its time had passed when the patient was enrolled",
		"enrolled after the treatment: sent as soon as possible"
}

// Expand computes the dated messages of p, sorted by send time. Messages
// are pending, or skipped when their time had passed at enrollment; Note
// says why a time moved (DST gap, quiet hours, daily cap, late enrollment).
// It returns EINVALID for a zone it cannot load or a step that fires too
// often, and EINTERNAL if a template fails to render.
func Expand(p Plan) ([]*aftercare.Message, error) {
	loc, err := aftercare.LoadZone(p.Patient.TZ)
	if err != nil {
		return nil, err
	}
	treatedLocal := p.TreatedAt.In(loc)
	y, mo, d := treatedLocal.Date()
	day0 := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) // local date as a plain calendar value

	type occurrence struct {
		step  int
		n     int
		at    time.Time
		notes []string
	}
	var occs []occurrence
	stepDates := make(map[string]time.Time, len(p.Protocol.Steps))
	for i := range p.Protocol.Steps {
		st := &p.Protocol.Steps[i]
		times, notes, err := stepTimes(st, p.TreatedAt, day0, loc)
		if err != nil {
			return nil, err
		}
		if len(times) > 0 {
			stepDates[st.Key] = times[0].In(loc)
		}
		for n, t := range times {
			occs = append(occs, occurrence{step: i, n: n, at: t, notes: notes[n]})
		}
	}
	slices.SortStableFunc(occs, func(a, b occurrence) int { return a.at.Compare(b.at) })

	lang := p.Patient.Lang
	// A clinic without a phone is still named where its phone would be, so
	// no text reads "call ." (`aftercare clinic` warns until a phone is set).
	phone := displayPhone(p.Clinic.Phone)
	if phone == "" {
		phone = p.Clinic.Name
	}
	fields := templates.Fields{
		FirstName:   p.Patient.FirstName(),
		ClinicName:  p.Clinic.Name,
		ClinicPhone: phone,
		Treatment:   treatedLocal,
		StepDates:   stepDates,
	}
	// Lock screens show texts and subjects to anyone nearby: the treatment
	// is named only where the clinic allows it.
	if p.Clinic.ShowTreatment {
		fields.TreatmentName = p.Protocol.Treatment[lang]
	}
	caps := capCounter{loc: loc, limit: p.Clinic.DailyCap, used: map[capKey]int{}}
	for _, b := range p.Busy {
		caps.add(b.At, b.Channel)
	}

	// The messages share one allocation (an import plans millions).
	n := 0
	for _, o := range occs {
		for _, ch := range p.Protocol.Steps[o.step].Channels {
			if p.AllChannels || p.Patient.CanReceive(ch) {
				n++
			}
		}
	}
	msgs := make([]aftercare.Message, n)
	out := make([]*aftercare.Message, 0, n)
	steps := make([]*aftercare.Step, 0, n) // out[i]'s step
	for _, o := range occs {
		st := &p.Protocol.Steps[o.step]
		for _, ch := range st.Channels {
			if !p.AllChannels && !p.Patient.CanReceive(ch) {
				continue
			}
			m := &msgs[len(out)]
			*m = aftercare.Message{
				StepKey:    st.Key,
				Occurrence: o.n,
				Channel:    ch,
				Lang:       lang,
				Status:     aftercare.StatusPending,
				// A message is worth sending until its planned time plus
				// expires, whatever moved it: quiet hours, the cap or a
				// late enrollment never make it live longer.
				ExpiresAt: o.at.Add(st.Expires).UTC(),
			}
			m.SendAt, m.Note = place(p, st, o.at, m.ExpiresAt, loc, o.notes, &m.Status)
			txt, err := p.Renderer.Render(st.Key, lang, ch, fields)
			if err != nil {
				return nil, aftercare.Errorf(aftercare.EINTERNAL, "rendering step %q (%s, %s): %v", st.Key, ch, lang, err)
			}
			m.Subject, m.Body, m.Segments = txt.Subject, txt.Body, txt.Segments
			out = append(out, m)
			steps = append(steps, st)
		}
	}
	applyCap(out, steps, &caps, p.Clinic.Window)
	for _, m := range out {
		m.SendAt = m.SendAt.UTC()
		m.NextAttemptAt = m.SendAt
	}
	slices.SortStableFunc(out, func(a, b *aftercare.Message) int { return a.SendAt.Compare(b.SendAt) })
	// Carriers expect the opt-out notice on the first text: it goes on
	// the first SMS planned to go out. The dispatcher adds it to a later
	// one if this one never reaches the provider.
	for _, m := range out {
		if m.Channel == aftercare.SMS && m.Status == aftercare.StatusPending {
			m.Body, m.Segments = aftercare.WithOptOutNotice(m.Body, lang)
			if p.PageURL != "" {
				m.Body, m.Segments = aftercare.WithPageLink(m.Body, lang, p.PageURL)
			}
			break
		}
	}
	return out, nil
}

// place returns when a message planned at planned goes out in the send
// window, and the notes on why it moved; it sets status to skipped (and
// says why in the note) when its time had passed at enrollment or when
// the window would send it at or after expires, or, for a recurrence, on
// another local day than planned.
func place(p Plan, st *aftercare.Step, planned, expires time.Time, loc *time.Location, dst []string, status *aftercare.Status) (time.Time, string) {
	notes := append([]string(nil), dst...)
	at, wnotes := intoWindow(planned, loc, p.Clinic.Window)
	notes = append(notes, wnotes...)
	if !p.Now.IsZero() && at.Before(p.Now) {
		skipped, lateNote := p.Event.lateNotes()
		immediate := st.Timing.Kind == aftercare.TimingAfter && st.Timing.Offset == 0
		if immediate && p.Now.Before(expires) {
			late, lnotes := intoWindow(p.Now, loc, p.Clinic.Window)
			if late.Before(expires) {
				notes = append(notes, lateNote)
				return late, strings.Join(append(notes, lnotes...), "; ")
			}
		}
		*status = aftercare.StatusSkipped
		return at, skipped
	}
	if len(wnotes) == 0 {
		return at, strings.Join(notes, "; ")
	}
	pl, al := planned.In(loc), at.In(loc)
	switch {
	case !at.Before(expires):
		*status = aftercare.StatusSkipped
		return at, fmt.Sprintf("skipped: due %s, in quiet hours; the send window (%s) opens at %s, after it expires at %s",
			pl.Format("Mon Jan 2 15:04"), p.Clinic.Window, al.Format("Mon Jan 2 15:04"), expires.In(loc).Format("Mon Jan 2 15:04"))
	case st.Timing.Kind == aftercare.TimingEvery && !sameDay(pl, al):
		*status = aftercare.StatusSkipped
		return at, fmt.Sprintf("skipped: due %s, in quiet hours; a daily reminder is not moved to the next day (the next one covers it)",
			pl.Format("Mon Jan 2 15:04"))
	}
	return at, strings.Join(notes, "; ")
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// applyCap enforces the daily cap on the pending messages of out (steps[i]
// is out[i]'s step). Important steps (priority high) are placed first and
// never moved; then the others, higher priority first and earlier first
// within a priority, each at the first local day with room. A message the
// cap would move past its expiry, or a recurrence it would move to another
// day, is skipped instead.
func applyCap(out []*aftercare.Message, steps []*aftercare.Step, caps *capCounter, w aftercare.Window) {
	if caps.limit <= 0 {
		return
	}
	order := make([]int, 0, len(out))
	for i, m := range out {
		if m.Status == aftercare.StatusPending {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(steps[b].Priority, steps[a].Priority); c != 0 {
			return c
		}
		return out[a].SendAt.Compare(out[b].SendAt)
	})
	for _, i := range order {
		m, st := out[i], steps[i]
		if st.Priority >= aftercare.PriorityHigh {
			caps.add(m.SendAt, m.Channel)
			continue
		}
		t := caps.room(m.SendAt, m.Channel, w)
		if t.Equal(m.SendAt) {
			caps.add(t, m.Channel)
			continue
		}
		orig := m.SendAt.In(caps.loc)
		full := fmt.Sprintf("daily cap: %d %s messages already on %s", caps.limit, m.Channel, orig.Format("Mon Jan 2"))
		switch {
		case !t.Before(m.ExpiresAt):
			m.Status = aftercare.StatusSkipped
			m.Note = joinNote(m.Note, fmt.Sprintf("skipped: %s; the next day with room (%s) is after it expires at %s",
				full, t.In(caps.loc).Format("Mon Jan 2 15:04"), m.ExpiresAt.In(caps.loc).Format("Mon Jan 2 15:04")))
		case st.Timing.Kind == aftercare.TimingEvery:
			m.Status = aftercare.StatusSkipped
			m.Note = joinNote(m.Note, "skipped: "+full+"; a daily reminder is not moved to another day (the next one covers it)")
		default:
			caps.add(t, m.Channel)
			m.SendAt = t
			m.Note = joinNote(m.Note, fmt.Sprintf("%s; moved to %s", full, t.In(caps.loc).Format("Mon Jan 2 15:04")))
		}
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// clinicPhone is a clinic phone as displayPhone last wrote it.
type clinicPhone struct{ e164, display string }

var lastPhone atomic.Pointer[clinicPhone]

// displayPhone is aftercare.DisplayPhone, which parses the number, for the
// clinic's phone that every message of an import shows: the last one is
// kept.
func displayPhone(e164 string) string {
	if l := lastPhone.Load(); l != nil && l.e164 == e164 {
		return l.display
	}
	d := aftercare.DisplayPhone(e164)
	lastPhone.Store(&clinicPhone{e164, d})
	return d
}

// stepTimes returns the nominal instants of a step and, for each, notes on
// DST adjustments.
func stepTimes(st *aftercare.Step, treatedAt, day0 time.Time, loc *time.Location) ([]time.Time, [][]string, error) {
	tm := st.Timing
	switch tm.Kind {
	case aftercare.TimingAfter:
		return []time.Time{treatedAt.Add(tm.Offset)}, [][]string{nil}, nil
	case aftercare.TimingBefore:
		return []time.Time{treatedAt.Add(-tm.Offset)}, [][]string{nil}, nil
	case aftercare.TimingDayAt:
		w := day0.AddDate(0, 0, tm.Day)
		t, moved := aftercare.WallTime(loc, w.Year(), w.Month(), w.Day(), tm.At.Hour(), tm.At.Minute())
		return []time.Time{t}, [][]string{dstNote(moved, tm.At, t.In(loc))}, nil
	case aftercare.TimingEvery:
		sched, err := parseCron(tm.Cron)
		if err != nil {
			return nil, nil, aftercare.Errorf(aftercare.EINVALID, "step %q: bad schedule %q: %v", st.Key, tm.Cron, err)
		}
		// Expand on the wall clock (a zone without DST), then place each
		// wall time in the patient's zone: recurrences keep their local
		// time across DST changes, and a repeated hour fires once.
		from := day0.AddDate(0, 0, tm.FromDay)
		until := day0.AddDate(0, 0, tm.ToDay+1)
		var times []time.Time
		var notes [][]string
		seen := map[int64]bool{}
		for _, w := range wallTimes(tm.Cron, sched, from, until) {
			t, moved := aftercare.WallTime(loc, w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute())
			if seen[t.Unix()] {
				continue
			}
			seen[t.Unix()] = true
			if len(times) == MaxOccurrences {
				return nil, nil, aftercare.Errorf(aftercare.EINVALID, "%s", templates.TooOften(st.Key, tm.FromDay, tm.ToDay))
			}
			times = append(times, t)
			notes = append(notes, dstNote(moved, aftercare.Clock(w.Hour()*60+w.Minute()), t.In(loc)))
		}
		return times, notes, nil
	}
	return nil, nil, aftercare.Errorf(aftercare.EINVALID, "step %q has no timing", st.Key)
}

// wallKey is a schedule's firings in [from, until), both plain calendar
// values (UTC) as Unix seconds.
type wallKey struct {
	spec        string
	from, until int64
}

var (
	walls  sync.Map // wallKey -> []time.Time
	nwalls atomic.Int64
)

// maxWalls bounds the wallTimes cache: a year of treatment dates for a
// dozen recurring steps.
const maxWalls = 4096

// maxWallTimes bounds how many firings wallTimes lists: enough for
// MaxOccurrences distinct local times whatever DST repeats (an hour at
// most per change), so that a schedule cut short here fires too often
// anyway.
const maxWallTimes = 4*MaxOccurrences + 120

// wallTimes returns the wall-clock times sched (spec) fires in [from,
// until). Everyone treated on the same date gets the same list, so it is
// computed once per date (cron's Next walks the calendar field by field and
// was a third of an import's planning).
func wallTimes(spec string, sched cron.Schedule, from, until time.Time) []time.Time {
	k := wallKey{spec, from.Unix(), until.Unix()}
	if ws, ok := walls.Load(k); ok {
		return ws.([]time.Time)
	}
	var ws []time.Time
	for w := sched.Next(from.Add(-time.Second)); !w.IsZero() && w.Before(until) && len(ws) < maxWallTimes; w = sched.Next(w) {
		ws = append(ws, w)
	}
	if nwalls.Load() < maxWalls {
		if _, loaded := walls.LoadOrStore(k, ws); !loaded {
			nwalls.Add(1)
		}
	}
	return ws
}

// schedules caches parseCron's schedules, which are read only once parsed:
// an import expands the same few schedules for every row.
var schedules sync.Map // spec -> cron.Schedule

// parseCron parses a step's five-field schedule.
func parseCron(spec string) (cron.Schedule, error) {
	if s, ok := schedules.Load(spec); ok {
		return s.(cron.Schedule), nil
	}
	s, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(spec)
	if err != nil {
		return nil, err
	}
	schedules.Store(spec, s)
	return s, nil
}

func dstNote(moved bool, want aftercare.Clock, got time.Time) []string {
	if !moved {
		return nil
	}
	return []string{fmt.Sprintf("DST: %s does not exist on %s (clocks go forward); moved to %s", want, got.Format("Mon Jan 2"), got.Format("15:04"))}
}

// intoWindow moves t to the next opening of the send window if it falls
// outside it, in the patient's local time.
func intoWindow(t time.Time, loc *time.Location, w aftercare.Window) (time.Time, []string) {
	l := t.In(loc)
	c := aftercare.Clock(l.Hour()*60 + l.Minute())
	if w.Contains(c) {
		return t, nil
	}
	day := l
	if c >= w.End {
		day = l.AddDate(0, 0, 1)
	}
	n, _ := aftercare.WallTime(loc, day.Year(), day.Month(), day.Day(), w.Start.Hour(), w.Start.Minute())
	when := "same day"
	if c >= w.End {
		when = "next day"
	}
	return n, []string{fmt.Sprintf("quiet hours: due %s, moved to %s %s (send window %s)", l.Format("15:04"), n.In(loc).Format("15:04"), when, w)}
}

type capKey struct {
	y  int
	yd int
	ch aftercare.Channel
}

// capCounter enforces the daily cap per channel per local day.
type capCounter struct {
	loc   *time.Location
	limit int
	used  map[capKey]int
}

func (c *capCounter) key(t time.Time, ch aftercare.Channel) capKey {
	l := t.In(c.loc)
	return capKey{l.Year(), l.YearDay(), ch}
}

func (c *capCounter) add(t time.Time, ch aftercare.Channel) { c.used[c.key(t, ch)]++ }

// room returns the first time at or after t on a local day with room
// under the cap: t itself, or the window's opening on a later day.
func (c *capCounter) room(t time.Time, ch aftercare.Channel, w aftercare.Window) time.Time {
	for i := 0; i < 400 && c.used[c.key(t, ch)] >= c.limit; i++ {
		next := t.In(c.loc).AddDate(0, 0, 1)
		t, _ = aftercare.WallTime(c.loc, next.Year(), next.Month(), next.Day(), w.Start.Hour(), w.Start.Minute())
	}
	return t
}
