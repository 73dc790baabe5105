package templates

import (
	"errors"
	"slices"
	"strings"

	"github.com/aftercare/aftercare"
	"go.yaml.in/yaml/v3"
)

// texts reads text: {lang: {sms: ..., email: {subject: ..., body: ...}}}.
func (p *parser) texts(e entry, channels []aftercare.Channel, channelsOK bool, what string, langs []string, langsOK bool, exists func(string) bool) map[string]aftercare.StepText {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%stext must be a mapping by language, e.g. text: {en: {sms: \"...\"}}", what)
		return nil
	}
	hasSMS, hasEmail := slices.Contains(channels, aftercare.SMS), slices.Contains(channels, aftercare.Email)
	out := map[string]aftercare.StepText{}
	seen := p.byLanguage(n, what+"text", "", "text", langs, langsOK, func(lang string, k, v *yaml.Node) {
		where := what + "text." + lang
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "%s must be a mapping with sms and/or email, not a %s", where, kindName(v))
			return
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
	})
	if langsOK {
		for _, l := range langs {
			if _, ok := seen[l]; !ok {
				p.errorf(e.key, "%stext has no %q: every language in languages needs text in each step", what, l)
			}
		}
	}
	return out
}

// byLanguage reads n, a mapping by language, as the mapping field (text or
// treatment) of a protocol: it reports keys that are not languages, given
// twice, or not in langs when those are known (remove says what to remove
// then); keysHint follows the message about keys. It calls each for every
// other entry, and returns the languages it saw by their key nodes.
func (p *parser) byLanguage(n *yaml.Node, field, keysHint, remove string, langs []string, langsOK bool, each func(lang string, k, v *yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be language codes%s", field, keysHint)
			continue
		}
		lang := k.Value
		if first, dup := seen[lang]; dup {
			p.errorf(k, "%s: language %q is given twice (first on line %d): keep one", field, lang, first.Line)
			continue
		}
		seen[lang] = k
		if langsOK && !slices.Contains(langs, lang) {
			p.errorf(k, "%s: language %q is not in languages (%s): add it there or remove this %s", field, lang, strings.Join(langs, ", "), remove)
			continue
		}
		if !langsOK && !languageRE.MatchString(lang) {
			p.errorf(k, "%s: %q is not a language code: use two lower-case letters, e.g. en", field, lang)
			continue
		}
		each(lang, k, v)
	}
	return seen
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

// errMessage is the human text of a domain error without its field prefix.
func errMessage(err error) string {
	var e *aftercare.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
