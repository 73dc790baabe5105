package templates

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode/utf8"
)

// Message templates are written in Go's text/template syntax but only a
// small part of it is allowed: plain text, the fields below and
// {{stepDate "key"}}. Parse and Compile check a template by walking its
// parse tree, then turn it into a list of pieces that Render fills in
// directly: no reflection, no template execution, a few hundred nanoseconds a
// message. TestRenderMatchesTextTemplate checks that the output is the same
// as text/template's for the same fields.

// field is what a piece of a compiled template stands for.
type field uint8

const (
	fieldText field = iota // literal text
	fieldFirstName
	fieldClinicName
	fieldClinicPhone
	fieldTreatmentDate
	fieldTreatmentTime
	fieldTreatmentName // the treatment's name, or the neutral word for it
	fieldStepDate      // the local date of a step's first occurrence
)

// fieldNames are the allow-listed fields, in the order the docs give them.
var fieldNames = []struct {
	name  string
	field field
}{
	{"FirstName", fieldFirstName},
	{"ClinicName", fieldClinicName},
	{"ClinicPhone", fieldClinicPhone},
	{"TreatmentDate", fieldTreatmentDate},
	{"TreatmentTime", fieldTreatmentTime},
	{"Treatment", fieldTreatmentName},
}

// allowedFields lists the fields for error messages.
var allowedFields = func() string {
	var b strings.Builder
	for i, f := range fieldNames {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(".")
		b.WriteString(f.name)
	}
	return b.String()
}()

const stepDateFunc = "stepDate"

// piece is one part of a compiled template: literal text, a field, or
// stepDate with its step key in s.
type piece struct {
	field field
	s     string
}

// tmpl is a compiled message template.
type tmpl struct {
	pieces  []piece
	literal int // bytes of literal text, to size the output buffer
}

// tmplError is a problem in a template. Line and Col are 1-based positions
// inside the template text.
type tmplError struct {
	Line, Col int
	Msg       string
}

// compileTemplate checks text against the allow-list and compiles it.
// stepExists reports whether a step key names a step of the protocol.
func compileTemplate(text string, stepExists func(string) bool) (tmpl, []tmplError) {
	var (
		t    tmpl
		errs []tmplError
	)
	fail := func(pos parse.Pos, format string, args ...any) {
		// Nodes point inside their action; point at its "{{" instead.
		if i := strings.LastIndex(text[:min(int(pos), len(text))], "{{"); i >= 0 {
			pos = parse.Pos(i)
		}
		line, col := position(text, int(pos))
		errs = append(errs, tmplError{line, col, fmt.Sprintf(format, args...)})
	}

	tree := parse.New("t")
	tree.Mode = parse.SkipFuncCheck // unknown functions are reported below, with the allowed ones
	set := map[string]*parse.Tree{}
	if _, err := tree.Parse(text, "", "", set); err != nil {
		line, msg := templateSyntaxError(err.Error())
		errs = append(errs, tmplError{line, 1, msg})
		return t, errs
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if def := set[name]; name != "t" {
			pos := parse.Pos(0)
			if def.Root != nil {
				pos = def.Root.Pos
			}
			fail(pos, `{{define}} and {{block}} are not allowed: write the text itself`)
		}
	}
	if tree.Root == nil {
		return t, errs
	}
	for _, n := range tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			t.addText(string(n.Text))
		case *parse.ActionNode:
			p, ok := compileAction(n, stepExists, fail)
			if ok {
				t.pieces = append(t.pieces, p)
			}
		case *parse.IfNode:
			fail(n.Pos, "{{if}} is not allowed: %s", onlyAllowed)
		case *parse.RangeNode:
			fail(n.Pos, "{{range}} is not allowed: %s", onlyAllowed)
		case *parse.WithNode:
			fail(n.Pos, "{{with}} is not allowed: %s", onlyAllowed)
		case *parse.TemplateNode:
			fail(n.Pos, "{{template}} is not allowed: write the text itself")
		default:
			fail(n.Position(), "%s is not allowed: %s", n.String(), onlyAllowed)
		}
	}
	return t, errs
}

const onlyAllowed = `a message may only hold text, the fields {{.FirstName}}, {{.ClinicName}}, {{.ClinicPhone}}, {{.TreatmentDate}}, {{.TreatmentTime}}, {{.Treatment}} and {{stepDate "step-key"}}`

// compileAction checks one {{...}} action.
func compileAction(a *parse.ActionNode, stepExists func(string) bool, fail func(parse.Pos, string, ...any)) (piece, bool) {
	pipe := a.Pipe
	src := a.String()
	if pipe == nil || len(pipe.Cmds) == 0 {
		fail(a.Pos, "%s is not allowed: %s", src, onlyAllowed)
		return piece{}, false
	}
	if len(pipe.Decl) > 0 {
		fail(a.Pos, "variables are not allowed in %s: %s", src, onlyAllowed)
		return piece{}, false
	}
	if len(pipe.Cmds) > 1 {
		fail(a.Pos, "pipelines (|) are not allowed in %s: write one field or stepDate in each {{ }}", src)
		return piece{}, false
	}
	args := pipe.Cmds[0].Args
	switch n := args[0].(type) {
	case *parse.FieldNode:
		name := strings.Join(n.Ident, ".")
		if len(n.Ident) != 1 {
			fail(a.Pos, "unknown field .%s: fields cannot be nested (allowed: %s)", name, allowedFields)
			return piece{}, false
		}
		if len(args) > 1 {
			fail(a.Pos, "%s: the field .%s takes no arguments; write {{.%s}}", src, name, name)
			return piece{}, false
		}
		for _, f := range fieldNames {
			if f.name == name {
				return piece{field: f.field}, true
			}
		}
		fail(a.Pos, "unknown field .%s (allowed: %s)", name, allowedFields)
		return piece{}, false
	case *parse.IdentifierNode:
		if n.Ident != stepDateFunc {
			fail(a.Pos, "unknown function %q in %s (the only function is stepDate, e.g. {{stepDate \"actives-back\"}})", n.Ident, src)
			return piece{}, false
		}
		if len(args) != 2 {
			fail(a.Pos, "%s: stepDate takes one step key in double quotes, e.g. {{stepDate \"actives-back\"}}", src)
			return piece{}, false
		}
		key, ok := args[1].(*parse.StringNode)
		if !ok {
			fail(a.Pos, "%s: stepDate takes one step key in double quotes, e.g. {{stepDate \"actives-back\"}}", src)
			return piece{}, false
		}
		if !stepExists(key.Text) {
			fail(a.Pos, "%s: there is no step with key %q", src, key.Text)
			return piece{}, false
		}
		return piece{field: fieldStepDate, s: key.Text}, true
	}
	fail(a.Pos, "%s is not allowed: %s", src, onlyAllowed)
	return piece{}, false
}

func (t *tmpl) addText(s string) {
	if s == "" {
		return
	}
	t.literal += len(s)
	if n := len(t.pieces); n > 0 && t.pieces[n-1].field == fieldText {
		t.pieces[n-1].s += s // after trim markers, two text nodes can be adjacent
		return
	}
	t.pieces = append(t.pieces, piece{s: s})
}

// minimal returns the template's text with every field empty: the shortest
// the message can ever be.
func (t *tmpl) minimal() string {
	var b strings.Builder
	for _, p := range t.pieces {
		if p.field == fieldText {
			b.WriteString(p.s)
		}
	}
	return b.String()
}

// appendTo renders t onto dst.
func (t *tmpl) appendTo(dst []byte, lang string, f *Fields) ([]byte, error) {
	for _, p := range t.pieces {
		switch p.field {
		case fieldText:
			dst = append(dst, p.s...)
		case fieldFirstName:
			dst = append(dst, f.FirstName...)
		case fieldClinicName:
			dst = append(dst, f.ClinicName...)
		case fieldClinicPhone:
			dst = append(dst, f.ClinicPhone...)
		case fieldTreatmentDate:
			if f.Treatment.IsZero() {
				return dst, errNoTreatment
			}
			dst = appendDate(dst, f.Treatment, lang)
		case fieldTreatmentTime:
			if f.Treatment.IsZero() {
				return dst, errNoTreatment
			}
			dst = appendTime(dst, f.Treatment, lang)
		case fieldTreatmentName:
			dst = appendTreatmentName(dst, f.TreatmentName, lang)
		case fieldStepDate:
			d, ok := f.StepDates[p.s]
			if !ok || d.IsZero() {
				return dst, fmt.Errorf("the message shows the date of step %q but Fields.StepDates has no date for it", p.s)
			}
			dst = appendDate(dst, d, lang)
		}
	}
	return dst, nil
}

// appendTreatmentName writes what {{.Treatment}} shows: the name the
// scheduler passed (only when the clinic lets messages name the treatment),
// otherwise the plain word for "treatment", so that a lock screen never
// says what was done.
func appendTreatmentName(dst []byte, name, lang string) []byte {
	if name != "" {
		return append(dst, name...)
	}
	return append(dst, NeutralTreatment(lang)...)
}

// NeutralTreatment is the word {{.Treatment}} shows when the clinic does
// not name treatments in messages: "tratamiento" in Spanish (es, es-XX),
// "treatment" in any other language.
func NeutralTreatment(lang string) string {
	if localeOf(lang) == spanish {
		return "tratamiento"
	}
	return "treatment"
}

// position converts a byte offset in text to a 1-based line and column
// (counted in characters).
func position(text string, off int) (line, col int) {
	if off > len(text) {
		off = len(text)
	}
	if off < 0 {
		off = 0
	}
	before := text[:off]
	line = 1 + strings.Count(before, "\n")
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCountInString(before)
}

// templateSyntaxError turns text/template's "template: t:LINE: msg" into a
// line and a message that says what to fix.
func templateSyntaxError(s string) (line int, msg string) {
	line, msg = 1, s
	if rest, ok := strings.CutPrefix(s, "template: t:"); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, m
			}
		}
	}
	return line, "template syntax error: " + msg + ": check that every {{ has a matching }} and that fields are written like {{.FirstName}}"
}

// errNoTreatment is a caller's mistake, like a missing step date: the
// scheduler must pass every date a template shows.
var errNoTreatment = errors.New("the message shows the treatment date or time but Fields.Treatment is not set")
