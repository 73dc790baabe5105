package templates

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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
