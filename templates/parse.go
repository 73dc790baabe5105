package templates

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
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
		if l, col, hint := p.yamlHint(line, m[2]); hint != "" {
			p.at(l, col, "not valid YAML: %s: %s", m[2], hint)
			return
		}
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

// yamlHint looks at the line the YAML library blamed (1-based) for the
// usual mistakes in a protocol, and returns where it is and what to do:
// an unquoted value that starts with {{, a colon and space inside plain
// text, a quote never closed. hint is "" when it sees none of them.
func (p *parser) yamlHint(line int, msg string) (int, int, string) {
	lines := strings.Split(string(p.src), "\n")
	if strings.Contains(msg, "end of stream") || strings.Contains(msg, "did not find expected") {
		// The library blames the end; the quote opened on an earlier line.
		for i := min(line, len(lines)) - 1; i >= 0; i-- {
			if _, v, ok := strings.Cut(lines[i], ": "); ok && strings.Count(v, `"`)%2 == 1 {
				return i + 1, strings.Index(lines[i], `"`) + 1, `this quoted text is never closed: end it with " (or write it with >- on the lines below)`
			}
		}
		return 0, 0, ""
	}
	if line < 1 || line > len(lines) || !strings.Contains(msg, "mapping values are not allowed") {
		return 0, 0, ""
	}
	l := lines[line-1]
	key, v, ok := strings.Cut(l, ": ")
	if !ok {
		return 0, 0, ""
	}
	start := len(key) + 2 + len(v) - len(strings.TrimLeft(v, " "))
	v = strings.TrimLeft(v, " ")
	switch {
	case strings.HasPrefix(v, "{{"):
		return line, start + 1, `a value that starts with {{ must be quoted: write "` + v + `" (or use >- and the text on the lines below)`
	case strings.Contains(v, ": "):
		return line, start + strings.Index(v, ": ") + 1, "a colon followed by a space inside plain text reads as a new key: quote the whole text, or use >- and the text on the lines below"
	}
	return 0, 0, ""
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
