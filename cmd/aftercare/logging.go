package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/aftercare/aftercare"
)

// Redacted replaces a secret in the log.
const Redacted = "[redacted]"

var (
	// secretKey names attributes whose string values are secrets whatever
	// they hold. Ids (the token attribute of "token created" is an int)
	// are not strings and stay.
	secretKey = regexp.MustCompile(`(?i)password|passwd|secret|auth|cookie|session|api[_-]?key|token`)
	// secretPath is a path that carries a secret: sign-in links
	// (/link/SECRET), patients' pages (/p/TOKEN), unsubscribe links
	// (/u/TOKEN).
	secretPath = regexp.MustCompile(`(/(?:link|p|u)/)[^/\s?#"'<>]+`)
	// dbURL is a PostgreSQL URL in a log value: serve's "aftercare serving"
	// line names the database by one (db, and owner, which holds it), and
	// errors quote it.
	dbURL = regexp.MustCompile(`(?i)\bpostgres(?:ql)?://[^\s"'<>]+`)
)

// newLogger is serve's logger on w: AFTERCARE_LOG_FORMAT json or text
// (empty: text when w is a terminal, a person reading; JSON otherwise, a
// container's or systemd's log that a collector parses), at
// AFTERCARE_LOG_LEVEL (debug, info, warn, error; default info). Every
// record goes through logSafety: secrets redacted, phone numbers and
// emails masked.
func newLogger(w io.Writer, format, level string, secrets []string) (*slog.Logger, error) {
	var lv slog.Level
	if level == "" {
		level = "info"
	}
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_LOG_LEVEL=%q is not a level: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: logSafety(secrets)}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_LOG_FORMAT=%q is not a log format: use json or text (or leave it empty: text on a terminal, JSON otherwise)", format)
}

// logSafety is the handlers' ReplaceAttr: a safety net under the code that
// logs, which masks what it logs itself. Every string, error and Stringer
// value, and the message, has the given secrets (TWILIO_AUTH_TOKEN,
// SMTP_PASSWORD) and the secrets of links redacted, and phone numbers and
// emails masked; an attribute named like a secret (password, token,
// cookie...) with a string value is redacted whole.
//
// A PostgreSQL URL is logged with its password replaced (in the user part
// and in a password= parameter, as redactURL does) but not masked: its
// user@host is a role and a server, not a person's address, and masked as
// one ("db":"p***@***") it no longer said which database a serve was on.
func logSafety(secrets []string) func(groups []string, a slog.Attr) slog.Attr {
	var known []string
	for _, s := range secrets {
		if len(s) >= 4 { // a 1-character "secret" would redact every log line's letters
			known = append(known, s)
		}
	}
	clean := func(s string) string {
		if strings.Contains(s, "://") {
			// First, while the URL still parses: "[redacted]" is not
			// allowed in a URL's user part.
			s = dbURL.ReplaceAllStringFunc(s, redactURL)
		}
		for _, k := range known {
			s = strings.ReplaceAll(s, k, Redacted)
		}
		if strings.Contains(s, "/") {
			s = secretPath.ReplaceAllString(s, "${1}"+Redacted)
		}
		return maskOutsideDBURLs(s)
	}
	// Whether a key names a secret, by key: every string attribute of
	// every line asks, and the keys are the code's own, a few dozen (at
	// most maxKnownKeys are remembered, should some code make them up).
	var (
		secretKeys sync.Map
		keys       atomic.Int32
	)
	isSecretKey := func(k string) bool {
		if v, ok := secretKeys.Load(k); ok {
			return v.(bool)
		}
		v := secretKey.MatchString(k)
		if keys.Add(1) <= maxKnownKeys {
			secretKeys.Store(k, v)
		}
		return v
	}
	return func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return a
		}
		switch a.Value.Kind() {
		case slog.KindString:
			if a.Key != slog.MessageKey && isSecretKey(a.Key) && a.Value.String() != "" {
				return slog.String(a.Key, Redacted)
			}
			if s := a.Value.String(); s != "" {
				a.Value = slog.StringValue(clean(s))
			}
		case slog.KindAny:
			switch v := a.Value.Any().(type) {
			case error:
				a.Value = slog.StringValue(clean(v.Error()))
			case fmt.Stringer:
				a.Value = slog.StringValue(clean(v.String()))
			case []byte:
				a.Value = slog.StringValue(clean(string(v)))
			default:
				// Anything else (a slice, a struct) is checked as it
				// would print, and replaced by its cleaned text only if
				// cleaning changed something.
				s := fmt.Sprint(v)
				if c := clean(s); c != s {
					a.Value = slog.StringValue(c)
				}
			}
		}
		return a
	}
}

// maxKnownKeys bounds logSafety's memory of which keys name secrets.
const maxKnownKeys = 512

// maskOutsideDBURLs is aftercare.MaskContacts of s, but for the PostgreSQL
// URLs in it, which stay as they are (logSafety has taken their passwords
// out): the rest of the value, a patient's number or address beside the
// URL in an error, is masked as anywhere else.
func maskOutsideDBURLs(s string) string {
	if !strings.Contains(s, "://") {
		return aftercare.MaskContacts(s)
	}
	var b strings.Builder
	last := 0
	for _, m := range dbURL.FindAllStringIndex(s, -1) {
		b.WriteString(aftercare.MaskContacts(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(aftercare.MaskContacts(s[last:]))
	return b.String()
}
