package templates

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
	"go.yaml.in/yaml/v3"
)

// Warnings are things a valid protocol does that patients are better off
// without: a text that does not say who sends it or how to call, or that
// names the treatment on a lock screen. A protocol with warnings still
// imports; the clinic decides.

// checkedText is a template that passed its checks, kept with its place in
// the file for the warnings.
type checkedText struct {
	node  *yaml.Node
	where string // e.g. `step "welcome": text.en.sms`
	src   string
	t     tmpl
	sms   bool // an SMS text; otherwise an email subject or body
}

// ParseWithWarnings is Parse, also returning on success the warnings about
// the protocol, sorted by position, each with its line and column:
//
//   - an SMS text that does not give {{.ClinicPhone}};
//   - an SMS text that does not start with {{.ClinicName}};
//   - an SMS text or email subject that names the treatment literally (any
//     name under treatment:, or the first word of the slug), where
//     {{.Treatment}} would follow the clinic's choice.
//
// On failure it returns no warnings and Parse's *ParseError.
func ParseWithWarnings(filename string, src []byte) (*aftercare.Protocol, []Problem, error) {
	proto, p, err := parseDoc(filename, src)
	if err != nil {
		return nil, nil, err
	}
	return proto, p.warnings(proto), nil
}

// Warning returns the problem as a warning line: "file:line:col: warning:
// message".
func (p Problem) Warning() string {
	return Problem{File: p.File, Line: p.Line, Col: p.Col, Msg: "warning: " + p.Msg}.String()
}

// minTreatmentName is the shortest name the warnings look for: a slug
// such as "co2-laser" would otherwise flag every "co" in the texts.
const minTreatmentName = 3

func (p *parser) warnings(proto *aftercare.Protocol) []Problem {
	saved := p.problems
	p.problems = nil
	names := treatmentNames(proto)
	for _, c := range p.checked {
		subject := strings.HasSuffix(c.where, ".email.subject")
		if c.sms {
			if !c.t.has(fieldClinicPhone) {
				p.errorf(c.node, "%s does not give the clinic's phone: add {{.ClinicPhone}} so that the patient can call with a question", c.where)
			}
			if !c.t.startsWith(fieldClinicName) {
				p.errorf(c.node, "%s does not start with {{.ClinicName}}: start every text with the clinic's name, so that the patient knows at a glance who is writing", c.where)
			}
		}
		if !c.sms && !subject {
			continue // an email body is read after opening it
		}
		if name, off, ok := findName(c.src, names); ok {
			line, col := position(c.src, off)
			line, col = p.scalarPos(c.node, line, col)
			p.at(line, col, "%s names the treatment (%q), which shows on the patient's lock screen or in the inbox list: write {{.Treatment}} instead, which names it only when the clinic allows and otherwise says %q",
				c.where, name, NeutralTreatment("en"))
		}
	}
	out := p.problems
	p.problems = saved
	sortProblems(out)
	return out
}

// treatmentNames are the names the warnings look for, longest first so
// that the longest match is the one reported.
func treatmentNames(proto *aftercare.Protocol) []string {
	var names []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) >= minTreatmentName && !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) }) {
			names = append(names, s)
		}
	}
	for _, lang := range proto.Languages {
		add(proto.Treatment[lang])
	}
	first, _, _ := strings.Cut(proto.Slug, "-")
	add(first)
	slices.SortStableFunc(names, func(a, b string) int { return len(b) - len(a) })
	return names
}

// findName returns the first of names found as a whole word in the
// literal text of src (not inside {{ }}), ignoring case, and its byte
// offset.
func findName(src string, names []string) (string, int, bool) {
	best, bestOff := "", -1
	for _, name := range names {
		re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(name))
		for _, m := range re.FindAllStringIndex(src, -1) {
			if inAction(src, m[0]) || !wordEdge(src, m[0], m[1]) {
				continue
			}
			if bestOff < 0 || m[0] < bestOff {
				best, bestOff = src[m[0]:m[1]], m[0]
			}
			break
		}
	}
	return best, bestOff, bestOff >= 0
}

// inAction reports whether byte off of src is inside a {{ }} action.
func inAction(src string, off int) bool {
	open := strings.LastIndex(src[:off], "{{")
	return open >= 0 && !strings.Contains(src[open:off], "}}")
}

// wordEdge reports whether src[i:j] is neither preceded nor followed by a
// letter or digit.
func wordEdge(src string, i, j int) bool {
	if r, _ := utf8.DecodeLastRuneInString(src[:i]); i > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(src[j:]); j < len(src) && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	return true
}

// has reports whether t shows field f.
func (t *tmpl) has(f field) bool {
	for _, p := range t.pieces {
		if p.field == f {
			return true
		}
	}
	return false
}

// startsWith reports whether the first thing t shows, after white space,
// is field f.
func (t *tmpl) startsWith(f field) bool {
	for _, p := range t.pieces {
		if p.field == fieldText && strings.TrimSpace(p.s) == "" {
			continue
		}
		return p.field == f
	}
	return false
}

// treatment reads treatment: {lang: name}, which must give a one-line name
// in each language of the protocol and no other.
func (p *parser) treatment(e entry, langs []string, langsOK bool) map[string]string {
	const example = "e.g. treatment: {en: microneedling, es: microneedling}"
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "treatment must be a mapping of language to the treatment's name, %s", example)
		return nil
	}
	out := map[string]string{}
	seen := p.byLanguage(n, "treatment", ", "+example, "name", langs, langsOK, func(lang string, _, v *yaml.Node) {
		s, ok := p.scalar(v, "treatment."+lang)
		if !ok {
			return
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			p.errorf(v, "treatment.%s is empty: give the treatment's name as a patient knows it, %s", lang, example)
		case utf8.RuneCountInString(s) > 60 || strings.ContainsAny(s, "\r\n"):
			p.errorf(v, "treatment.%s must be one line of at most 60 characters: it is shown inside a sentence", lang)
		case strings.Contains(s, "{{"):
			p.errorf(v, "treatment.%s is shown as it is: write the name without {{ }}", lang)
		default:
			out[lang] = s
		}
	})
	if langsOK {
		for _, l := range langs {
			if _, ok := seen[l]; !ok {
				p.errorf(e.key, "treatment has no %q: give the treatment's name in every language of languages", l)
			}
		}
	}
	return out
}
