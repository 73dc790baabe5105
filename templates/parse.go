package templates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Limits on a protocol document, so that an import cannot make the
// scheduler expand an unbounded number of messages.
const (
	MaxSize             = 256 << 10 // bytes of YAML
	MaxSteps            = 200
	MaxSMSSegments      = 3 // an SMS body must fit in this many segments with its fields empty
	MaxExpires          = 7 * 24 * time.Hour
	MinDay, MaxDay      = -60, 400 // range of day, from_day and to_day
	MaxEveryDays        = 120      // most days a recurring step may cover
	MaxEveryFiresPerDay = 4        // most times a recurring step may fire in one day
)

// Problem is one thing wrong with a protocol document, at a 1-based line
// and column of the file.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

// String returns "file:line:col: message" ("line:col: message" without a
// file name).
func (p Problem) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// ParseError is every problem Parse found in a document, sorted by
// position. It unwraps to an EINVALID *aftercare.Error.
type ParseError struct {
	Problems []Problem
}

// Error returns one "file:line:col: message" line per problem.
func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns the problems as an EINVALID *aftercare.Error, so that
// aftercare.ErrorCode reports EINVALID and aftercare.ErrorMessage shows them.
func (e *ParseError) Unwrap() error {
	return &aftercare.Error{Code: aftercare.EINVALID, Message: e.Error()}
}

// The keys each level of a protocol document allows, in the order the
// documentation gives them.
var (
	protocolKeys = []string{"slug", "name", "languages", "treatment", "steps"}
	requiredKeys = []string{"slug", "name", "languages", "steps"}
	stepKeys     = []string{"key", "channels", "after", "before", "day", "at", "every", "from_day", "to_day", "expires", "priority", "text"}
	textKeys     = []string{"sms", "email"}
	emailKeys    = []string{"subject", "body"}
)

var (
	stepKeyRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	languageRE = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// cronParser reads the five-field specs of every: (no seconds, no
// descriptors such as @daily; time zones are refused before it is called).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a protocol document (the format is described in
// docs/protocols.md). filename is only used in messages.
//
// On success the protocol has its slug, name, languages, steps in document
// order, YAML (src verbatim) and SHA256 (hex of src); the caller sets Source
// and the store sets ID, ClinicID, Version and CreatedAt. Otherwise Parse
// returns a *ParseError listing every problem found, each with its line and
// column and what to change; it unwraps to EINVALID.
func Parse(filename string, src []byte) (*aftercare.Protocol, error) {
	proto, _, err := parseDoc(filename, src)
	return proto, err
}

func parseDoc(filename string, src []byte) (*aftercare.Protocol, *parser, error) {
	p := &parser{file: filename, src: src}
	proto := p.parse()
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, p, &ParseError{Problems: p.problems}
	}
	sum := sha256.Sum256(src)
	proto.YAML = string(src)
	proto.SHA256 = hex.EncodeToString(sum[:])
	return proto, p, nil
}

// sortProblems orders problems by position, keeping the order of those at
// the same place.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

type parser struct {
	file     string
	src      []byte
	nlines   int      // lines of src, as YAML counts them
	lines    []string // of src, split on "\n" on first use
	problems []Problem
	checked  []checkedText // every valid template, for the warnings
}

func (p *parser) at(line, col int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if p.nlines == 0 {
		p.nlines = lineCount(p.src)
	}
	if line > p.nlines {
		line, col = p.nlines, 1 // the YAML library can point one line past the end
	}
	if col < 1 {
		col = 1
	}
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.at(n.Line, n.Column, format, args...)
}

// lineCount is the number of lines of src as YAML counts them: "\n",
// "\r\n" and a lone "\r" each end a line.
func lineCount(src []byte) int {
	return 1 + bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) - bytes.Count(src, []byte("\r\n"))
}

// entry is a key and its value in a mapping.
type entry struct{ key, val *yaml.Node }

// mapping reads a mapping node, reporting duplicate keys and keys not in
// allowed. what prefixes the messages ("" at the top level).
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) map[string]entry {
	out := map[string]entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%skeys must be plain words (allowed: %s)", what, strings.Join(allowed, ", "))
			continue
		}
		if first, dup := out[k.Value]; dup {
			p.errorf(k, "%skey %q is given twice (first on line %d): keep one", what, k.Value, first.key.Line)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.errorf(k, "%sunknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = entry{k, v}
	}
	return out
}

// scalar returns the text of a scalar node, reporting any other kind. A
// YAML null (a key with nothing after it, or ~) is the empty string.
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value, not a %s", what, kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping (key: value lines)"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "YAML node"
}

func (p *parser) parse() *aftercare.Protocol {
	if len(p.src) > MaxSize {
		p.at(1, 1, "the document is %d KiB; a protocol may be at most %d KiB", (len(p.src)+1023)/1024, MaxSize/1024)
		return nil
	}
	doc, ok := p.decode()
	if !ok {
		return nil
	}
	if len(doc.Content) == 0 {
		p.at(1, 1, "the document is empty: a protocol needs %s", strings.Join(requiredKeys, ", "))
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		p.at(1, 1, "the document is empty: a protocol needs %s", strings.Join(requiredKeys, ", "))
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a protocol must be a mapping of %s, not a %s", strings.Join(requiredKeys, ", "), kindName(root))
		return nil
	}
	if p.aliases(root) {
		return nil // the rest would only repeat the same problem
	}

	proto := &aftercare.Protocol{}
	top := p.mapping(root, "", protocolKeys)
	for _, k := range requiredKeys {
		if _, ok := top[k]; !ok {
			p.errorf(root, "missing key %q: %s", k, missingHint[k])
		}
	}
	if e, ok := top["slug"]; ok {
		if s, ok := p.scalar(e.val, "slug"); ok {
			if err := aftercare.ValidateSlug("slug", s); err != nil {
				p.errorf(e.val, "slug: %s", errMessage(err))
			}
			proto.Slug = s
		}
	}
	if e, ok := top["name"]; ok {
		if s, ok := p.scalar(e.val, "name"); ok {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
				p.errorf(e.val, "name is empty: give the protocol a name staff will recognise, e.g. %q", "Microneedling aftercare")
			case utf8.RuneCountInString(s) > 200 || strings.ContainsAny(s, "\r\n"):
				p.errorf(e.val, "name must be one line of at most 200 characters")
			}
			proto.Name = s
		}
	}
	langsOK := false
	if e, ok := top["languages"]; ok {
		proto.Languages, langsOK = p.languages(e.val)
	}
	if e, ok := top["treatment"]; ok {
		proto.Treatment = p.treatment(e, proto.Languages, langsOK)
	}
	if e, ok := top["steps"]; ok {
		proto.Steps = p.steps(e.val, proto.Languages, langsOK)
	}
	return proto
}

var missingHint = map[string]string{
	"slug":      "give the protocol a short name of lower-case letters, digits and dashes, e.g. slug: microneedling",
	"name":      "give the protocol a name staff will recognise, e.g. name: Microneedling aftercare",
	"languages": "list the languages the messages are written in, e.g. languages: [en, es]",
	"steps":     "list the messages to send, each with a key, channels, a timing and text",
}

// decode reads exactly one YAML document.
func (p *parser) decode() (doc *yaml.Node, ok bool) {
	defer func() {
		// The YAML library must never take the service down on a clinic's file.
		if r := recover(); r != nil {
			p.at(1, 1, "the YAML could not be read (%v)", r)
			doc, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.at(1, 1, "the document is empty: a protocol needs %s", strings.Join(requiredKeys, ", "))
		} else {
			p.yamlError(err)
		}
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(err)
		return nil, false
	default:
		p.at(next.Line, 1, "a file holds one protocol: remove the second document (the part after ---) or put it in its own file")
		return nil, false
	}
	return doc, true
}

// yamlError reports a syntax error from the YAML library at its line.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.at(line, 1, "not valid YAML: %s", m[2])
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// The library gives no line for some errors; the most common one is a
	// tab in the indentation, which is worth pointing at.
	for i, l := range strings.Split(string(p.src), "\n") {
		if !strings.Contains(msg, "cannot start any token") {
			break
		}
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, "\t") {
			p.at(i+1, len(l)-len(t)+1, "not valid YAML: a tab in the indentation: indent with spaces only")
			return
		}
	}
	p.at(1, 1, "not valid YAML: %s", msg)
}

// aliases reports aliases (*name) anywhere in the document and whether
// there were any. They are refused so that a protocol reads top to bottom,
// and so that the work of checking it stays proportional to its size.
func (p *parser) aliases(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "aliases (*%s) are not supported: write the value out in full", n.Value)
		return true
	}
	found := false
	for _, c := range n.Content {
		found = p.aliases(c) || found
	}
	return found
}

func (p *parser) languages(n *yaml.Node) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "languages must be a list of language codes, e.g. languages: [en, es]")
		return nil, false
	}
	if len(n.Content) == 0 {
		p.errorf(n, "languages is empty: list at least one language code, e.g. languages: [en]")
		return nil, false
	}
	ok := true
	seen := map[string]int{}
	var out []string
	for _, c := range n.Content {
		s, isScalar := p.scalar(c, "each language")
		if !isScalar {
			ok = false
			continue
		}
		if !languageRE.MatchString(s) {
			p.errorf(c, "language %q is not a language code: use two lower-case letters, optionally with a region, e.g. en, es or es-MX", s)
			ok = false
			continue
		}
		if line, dup := seen[s]; dup {
			p.errorf(c, "language %q is listed twice (first on line %d)", s, line)
			ok = false
			continue
		}
		seen[s] = c.Line
		out = append(out, s)
	}
	return out, ok
}

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

// texts reads text: {lang: {sms: ..., email: {subject: ..., body: ...}}}.
func (p *parser) texts(e entry, channels []aftercare.Channel, channelsOK bool, what string, langs []string, langsOK bool, exists func(string) bool) map[string]aftercare.StepText {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%stext must be a mapping by language, e.g. text: {en: {sms: \"...\"}}", what)
		return nil
	}
	hasSMS, hasEmail := slices.Contains(channels, aftercare.SMS), slices.Contains(channels, aftercare.Email)
	out := map[string]aftercare.StepText{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%stext: keys must be language codes", what)
			continue
		}
		lang := k.Value
		if first, dup := seen[lang]; dup {
			p.errorf(k, "%stext: language %q is given twice (first on line %d): keep one", what, lang, first.Line)
			continue
		}
		seen[lang] = k
		if langsOK && !slices.Contains(langs, lang) {
			p.errorf(k, "%stext: language %q is not in languages (%s): add it there or remove this text", what, lang, strings.Join(langs, ", "))
			continue
		}
		if !langsOK && !languageRE.MatchString(lang) {
			p.errorf(k, "%stext: %q is not a language code: use two lower-case letters, e.g. en", what, lang)
			continue
		}
		where := what + "text." + lang
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "%s must be a mapping with sms and/or email, not a %s", where, kindName(v))
			continue
		}
		lf := p.mapping(v, where+": ", textKeys)
		var st aftercare.StepText
		if sms, ok := lf["sms"]; ok {
			if !hasSMS && channelsOK {
				p.errorf(sms.key, "%s.sms is given but the step is not sent by sms: add sms to channels or remove the text", where)
			} else if s, ok := p.template(sms.val, where+".sms", exists, true); ok {
				st.SMS = s
			}
		} else if hasSMS && channelsOK {
			p.errorf(k, "%s: missing sms: the step is sent by sms, so it needs the text message in %s", where, lang)
		}
		if em, ok := lf["email"]; ok {
			if !hasEmail && channelsOK {
				p.errorf(em.key, "%s.email is given but the step is not sent by email: add email to channels or remove the text", where)
			} else if em.val.Kind != yaml.MappingNode {
				p.errorf(em.val, "%s.email must be a mapping with subject and body", where)
			} else {
				ef := p.mapping(em.val, where+".email: ", emailKeys)
				for _, part := range []struct {
					key string
					dst *string
				}{{"subject", &st.EmailSubject}, {"body", &st.EmailBody}} {
					pe, ok := ef[part.key]
					if !ok {
						p.errorf(em.key, "%s.email: missing %s: an email needs a subject and a body", where, part.key)
						continue
					}
					if s, ok := p.template(pe.val, where+".email."+part.key, exists, false); ok {
						if part.key == "subject" && strings.ContainsAny(strings.TrimSpace(s), "\r\n") {
							p.errorf(pe.val, "%s.email.subject must be one line", where)
							continue
						}
						*part.dst = s
					}
				}
			}
		} else if hasEmail && channelsOK {
			p.errorf(k, "%s: missing email: the step is sent by email, so it needs an email (subject and body) in %s", where, lang)
		}
		out[lang] = st
	}
	if langsOK {
		for _, l := range langs {
			if _, ok := seen[l]; !ok {
				p.errorf(e.key, "%stext has no %q: every language in languages needs text in each step", what, l)
			}
		}
	}
	return out
}

// template checks one message template and reports its problems at their
// place in the file.
func (p *parser) template(n *yaml.Node, where string, exists func(string) bool, sms bool) (string, bool) {
	v, ok := p.scalar(n, where)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(v) == "" {
		p.errorf(n, "%s is empty: write the message", where)
		return "", false
	}
	t, errs := compileTemplate(v, exists)
	for _, te := range errs {
		line, col := p.scalarPos(n, te.Line, te.Col)
		p.at(line, col, "%s: %s", where, te.Msg)
	}
	if len(errs) > 0 {
		return "", false
	}
	p.checked = append(p.checked, checkedText{node: n, where: where, src: v, t: t, sms: sms})
	if sms {
		if segs, enc := Segments(strings.TrimSpace(t.minimal())); segs > MaxSMSSegments {
			limit := MaxSMSSegments * gsmConcat
			if enc == UCS2 {
				limit = MaxSMSSegments * ucs2Concat
			}
			p.errorf(n, "%s is %d SMS segments (%s) even with every field empty: shorten it to at most %d segments, about %d characters%s",
				where, segs, enc, MaxSMSSegments, limit, ucs2Hint(enc))
			return "", false
		}
	}
	return v, true
}

func ucs2Hint(enc string) string {
	if enc == UCS2 {
		return " (characters such as á, í, ó, ú, curly quotes or emoji make every segment shorter)"
	}
	return ""
}

// scalarPos maps a 1-based line and column inside the value of a scalar to
// the file. It is exact for literal (|) and folded (>) blocks of plain
// paragraphs and for values written on one line; for other forms (a quoted
// value with escapes or spread over lines) it points at the start of the
// value.
func (p *parser) scalarPos(n *yaml.Node, line, col int) (int, int) {
	if p.lines == nil {
		p.lines = strings.Split(string(p.src), "\n")
	}
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		// Line k of the value is line n.Line+k of the file.
		return n.Line + line, p.blockIndent(n.Line) + col
	case n.Style&yaml.FoldedStyle != 0:
		return p.foldedPos(n, line, col)
	case line == 1 && n.Line >= 1 && n.Line <= len(p.lines):
		src := []rune(strings.TrimRight(p.lines[n.Line-1], "\r"))
		if n.Column < 1 || n.Column > len(src) {
			break
		}
		rest := string(src[n.Column-1:])
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		if quoted && len(rest) > 0 {
			rest = rest[1:] // the quote
		}
		if strings.HasPrefix(rest, n.Value) {
			if quoted {
				return n.Line, n.Column + col
			}
			return n.Line, n.Column + col - 1
		}
	}
	return n.Line, n.Column
}

// foldedPos maps a position in the value of a folded block (>) to the file:
// each line break of the source became a space, except around blank lines,
// which became the line breaks.
func (p *parser) foldedPos(n *yaml.Node, line, col int) (int, int) {
	// The rune offset of (line, col) in the value.
	off := col - 1
	for i, l := range strings.SplitAfter(n.Value, "\n") {
		if i+1 >= line {
			break
		}
		off += utf8.RuneCountInString(l)
	}
	indent := p.blockIndent(n.Line)
	pos, prevBlank := 0, false
	for i := n.Line; i < len(p.lines); i++ {
		content := []rune(strings.TrimRight(p.lines[i], "\r"))
		if len(content) > indent {
			content = content[indent:]
		} else {
			content = nil
		}
		if strings.TrimSpace(string(content)) == "" {
			if prevBlank {
				pos++
			}
			prevBlank = true
			continue
		}
		prevBlank = false
		if off < pos+len(content) {
			return i + 1, indent + off - pos + 1
		}
		pos += len(content) + 1
	}
	return n.Line, n.Column
}

// blockIndent returns the indentation of the first non-blank line after
// line header (1-based) of the source: the indentation of a block scalar.
func (p *parser) blockIndent(header int) int {
	for i := header; i < len(p.lines); i++ {
		if t := strings.TrimLeft(p.lines[i], " "); strings.TrimSpace(t) != "" {
			return len(p.lines[i]) - len(t)
		}
	}
	return 0
}

// errMessage is the human text of a domain error without its field prefix.
func errMessage(err error) string {
	var e *aftercare.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
