package templates

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// stepNode is a step's mapping read in the first pass.
type stepNode struct {
	node   *yaml.Node
	fields map[string]entry
	key    string // "" when missing or invalid
	what   string // message prefix
}

func (p *parser) steps(n *yaml.Node, langs []string, langsOK bool) []aftercare.Step {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "steps must be a list; start each step with \"- key: ...\"")
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "steps is empty: a protocol needs at least one step")
		return nil
	}
	if len(n.Content) > MaxSteps {
		p.errorf(n.Content[MaxSteps], "too many steps (%d): a protocol may have at most %d", len(n.Content), MaxSteps)
		return nil
	}

	// First pass: the keys, so that stepDate can refer to any step,
	// including later ones.
	var nodes []stepNode
	keys := map[string]*yaml.Node{}
	for i, c := range n.Content {
		sn := stepNode{node: c, what: fmt.Sprintf("step %d: ", i+1)}
		if c.Kind != yaml.MappingNode {
			p.errorf(c, "%sa step must be a mapping of %s, not a %s", sn.what, strings.Join(stepKeys, ", "), kindName(c))
			continue
		}
		// Name the step by its key in every message, when it has a usable one.
		for j := 0; j+1 < len(c.Content); j += 2 {
			if k, v := c.Content[j], c.Content[j+1]; k.Value == "key" && v.Kind == yaml.ScalarNode && stepKeyRE.MatchString(v.Value) && keys[v.Value] == nil {
				sn.what = fmt.Sprintf("step %q: ", v.Value)
				break
			}
		}
		sn.fields = p.mapping(c, sn.what, stepKeys)
		if e, ok := sn.fields["key"]; !ok {
			p.errorf(c, "%smissing key \"key\": give each step a unique name such as key: spf-now", sn.what)
		} else if s, ok := p.scalar(e.val, sn.what+"key"); ok {
			switch first, dup := keys[s]; {
			case !stepKeyRE.MatchString(s):
				p.errorf(e.val, "%skey %q is not valid: use lower-case letters, digits and dashes, e.g. spf-now", sn.what, s)
			case dup:
				p.errorf(e.val, "%sstep key %q is already used by the step on line %d: step keys must be unique", sn.what, s, first.Line)
			default:
				keys[s] = e.val
				sn.key = s
			}
		}
		nodes = append(nodes, sn)
	}
	exists := func(k string) bool { _, ok := keys[k]; return ok }

	steps := make([]aftercare.Step, 0, len(nodes))
	for _, sn := range nodes {
		steps = append(steps, p.step(sn, langs, langsOK, exists))
	}
	p.checkVolume(n, nodes, steps)
	return steps
}

func (p *parser) step(sn stepNode, langs []string, langsOK bool, exists func(string) bool) aftercare.Step {
	s := aftercare.Step{Key: sn.key, Expires: aftercare.DefaultExpires}
	f, what := sn.fields, sn.what

	channelsOK := false
	if e, ok := f["channels"]; !ok {
		p.errorf(sn.node, "%smissing key \"channels\": say how the step is sent, e.g. channels: [sms] or channels: [sms, email]", what)
	} else {
		s.Channels, channelsOK = p.channels(e.val, what)
	}
	s.Timing = p.timing(sn)
	if e, ok := f["expires"]; ok {
		if v, ok := p.scalar(e.val, what+"expires"); ok {
			d, err := aftercare.ParseOffset(v)
			switch {
			case err != nil:
				p.errorf(e.val, "%sexpires: %s", what, errMessage(err))
			case d <= 0 || d > MaxExpires:
				p.errorf(e.val, "%sexpires must be more than 0s and at most 7d (it is how long after its send time a message is still worth sending), got %s", what, v)
			default:
				s.Expires = d
			}
		}
	}
	if e, ok := f["priority"]; ok {
		if v, ok := p.scalar(e.val, what+"priority"); ok {
			if pr, err := aftercare.ParsePriority(v); err != nil || v == "" {
				p.errorf(e.val, "%spriority must be low, normal or high, got %q: high keeps the step on time when the daily cap is reached, low lets it move or drop first", what, v)
			} else {
				s.Priority = pr
			}
		}
	}
	if e, ok := f["text"]; !ok {
		p.errorf(sn.node, "%smissing key \"text\": give the message in each language, e.g. text: {en: {sms: \"...\"}}", what)
	} else {
		s.Text = p.texts(e, s.Channels, channelsOK, what, langs, langsOK, exists)
	}
	return s
}

// channels reads the channel list; ok is false when anything in it is
// wrong, so that the texts are not also blamed for not matching it.
func (p *parser) channels(n *yaml.Node, what string) (out []aftercare.Channel, ok bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%schannels must be a list, e.g. [sms] or [sms, email]", what)
		return nil, false
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%schannels is empty: give sms, email or both, e.g. [sms, email]", what)
		return nil, false
	}
	ok = true
	seen := map[aftercare.Channel]int{}
	for _, c := range n.Content {
		v, isScalar := p.scalar(c, what+"each channel")
		if !isScalar {
			ok = false
			continue
		}
		ch, err := aftercare.ParseChannel(v)
		if err != nil {
			p.errorf(c, "%sunknown channel %q: use sms or email", what, v)
			ok = false
			continue
		}
		if line, dup := seen[ch]; dup {
			p.errorf(c, "%schannel %s is listed twice (first on line %d)", what, ch, line)
			continue
		}
		seen[ch] = c.Line
		out = append(out, ch)
	}
	return out, ok
}

const timingHint = `give one of after: 90m, before: 3d, day: 4 with at: "09:00", or every: "0 9 * * *" with from_day and to_day`

func (p *parser) timing(sn stepNode) aftercare.Timing {
	f, what := sn.fields, sn.what
	var kinds []string
	for _, k := range []string{"after", "before", "day", "every"} {
		if _, ok := f[k]; ok {
			kinds = append(kinds, k)
		}
	}
	// Keys that only go with one timing.
	for k, needs := range map[string]string{"at": "day", "from_day": "every", "to_day": "every"} {
		if e, ok := f[k]; ok {
			if _, ok := f[needs]; !ok {
				p.errorf(e.key, "%s%s is only used with %s: %s", what, k, needs, timingHint)
			}
		}
	}
	switch len(kinds) {
	case 0:
		p.errorf(sn.node, "%sno timing: %s", what, timingHint)
		return aftercare.Timing{}
	case 1:
	default:
		first, second := f[kinds[0]], f[kinds[1]]
		p.errorf(second.key, "%sgive exactly one timing: %s (line %d) and %s are both set; keep one", what, kinds[0], first.key.Line, kinds[1])
		return aftercare.Timing{}
	}

	switch kind := kinds[0]; kind {
	case "after", "before":
		e := f[kind]
		v, ok := p.scalar(e.val, what+kind)
		if !ok {
			return aftercare.Timing{}
		}
		d, err := aftercare.ParseOffset(v)
		if err != nil {
			p.errorf(e.val, "%s%s: %s", what, kind, errMessage(err))
			return aftercare.Timing{}
		}
		if kind == "before" {
			if d == 0 {
				p.errorf(e.val, "%sbefore: 0s is the end of the treatment itself: write after: 0s, or a time before it such as before: 3h", what)
				return aftercare.Timing{}
			}
			return aftercare.Timing{Kind: aftercare.TimingBefore, Offset: d}
		}
		return aftercare.Timing{Kind: aftercare.TimingAfter, Offset: d}

	case "day":
		t := aftercare.Timing{Kind: aftercare.TimingDayAt}
		day, ok := p.day(f["day"], what, "day")
		at, hasAt := f["at"]
		if !hasAt {
			p.errorf(f["day"].key, "%sday needs at, the local time to send on that day, e.g. at: \"09:00\"", what)
			return aftercare.Timing{}
		}
		v, okAt := p.scalar(at.val, what+"at")
		if !okAt {
			return aftercare.Timing{}
		}
		c, err := aftercare.ParseClock(v)
		if err != nil {
			p.errorf(at.val, "%sat: %s", what, errMessage(err))
			return aftercare.Timing{}
		}
		if !ok {
			return aftercare.Timing{}
		}
		t.Day, t.At = day, c
		return t

	default: // every
		t := aftercare.Timing{Kind: aftercare.TimingEvery}
		spec, ok := p.cronSpec(f["every"], what)
		from, okFrom := p.dayKey(sn, "from_day")
		to, okTo := p.dayKey(sn, "to_day")
		if !ok || !okFrom || !okTo {
			return aftercare.Timing{}
		}
		if from > to {
			p.errorf(f["to_day"].val, "%sto_day (%d) is before from_day (%d): the recurrence runs from from_day to to_day", what, to, from)
			return aftercare.Timing{}
		}
		if to-from+1 > MaxEveryDays {
			p.errorf(f["to_day"].val, "%sfrom_day %d to to_day %d is %d days: a recurring step may cover at most %d days", what, from, to, to-from+1, MaxEveryDays)
			return aftercare.Timing{}
		}
		t.Cron, t.FromDay, t.ToDay = spec, from, to
		return t
	}
}

// dayKey reads from_day or to_day, which every requires.
func (p *parser) dayKey(sn stepNode, k string) (int, bool) {
	e, ok := sn.fields[k]
	if !ok {
		p.errorf(sn.fields["every"].key, "%severy needs %s: the recurrence runs from from_day to to_day (days after the treatment, day 0), e.g. from_day: 1 and to_day: 14", sn.what, k)
		return 0, false
	}
	return p.day(e, sn.what, k)
}

func (p *parser) day(e entry, what, k string) (int, bool) {
	v, ok := p.scalar(e.val, what+k)
	if !ok {
		return 0, false
	}
	d, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		p.errorf(e.val, "%s%s must be a whole number of days after the treatment (day 0 is the treatment day, -1 the day before), got %q", what, k, v)
		return 0, false
	}
	if d < MinDay || d > MaxDay {
		p.errorf(e.val, "%s%s must be between %d and %d, got %d", what, k, MinDay, MaxDay, d)
		return 0, false
	}
	return d, true
}

// cronSpec checks a five-field spec of every:.
func (p *parser) cronSpec(e entry, what string) (string, bool) {
	v, ok := p.scalar(e.val, what+"every")
	if !ok {
		return "", false
	}
	spec := strings.TrimSpace(v)
	fields := strings.Fields(spec)
	switch {
	case spec == "":
		p.errorf(e.val, "%severy is empty: give a five-field cron spec (minute hour day-of-month month day-of-week), e.g. \"0 9 * * *\" for 09:00 every day", what)
		return "", false
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		p.errorf(e.val, "%severy: remove %q: the spec is read in each patient's own time zone, which is applied automatically", what, fields[0])
		return "", false
	case strings.HasPrefix(spec, "@"):
		p.errorf(e.val, "%severy: %q is not supported: write five fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * *\" for 09:00 every day", what, fields[0])
		return "", false
	case len(fields) != 5:
		p.errorf(e.val, "%severy has %d fields: write five (minute hour day-of-month month day-of-week), e.g. \"0 9 * * *\" for 09:00 every day", what, len(fields))
		return "", false
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		p.errorf(e.val, "%severy: %q is not a valid cron spec (%v): write minute hour day-of-month month day-of-week, e.g. \"0 9 * * *\"", what, spec, err)
		return "", false
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		const starBit = 1 << 63
		per := bits.OnesCount64(s.Minute&^starBit) * bits.OnesCount64(s.Hour&^starBit)
		if per > MaxEveryFiresPerDay {
			p.errorf(e.val, "%severy: %q fires %d times a day: a recurring step may fire at most %d times a day", what, spec, per, MaxEveryFiresPerDay)
			return "", false
		}
	}
	// A spec such as "0 9 31 2 *" (February 31) never fires.
	if sched.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		p.errorf(e.val, "%severy: %q never fires: check the day-of-month and month fields", what, spec)
		return "", false
	}
	return spec, true
}
