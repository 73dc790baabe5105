package aftercare

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Clinic is the tenant: every other row belongs to exactly one clinic.
type Clinic struct {
	ID      int64
	Slug    string // short unique name used on the command line: --clinic SLUG
	Name    string // named in every message
	Phone   string // E.164; how patients reach the clinic
	Country string // ISO 3166 region used to read phone numbers written without a country code
	TZ      string // IANA zone of the clinic itself (reports, defaults for patients)

	Window        Window // send window (quiet hours are outside it), in the patient's local time
	DailyCap      int    // most messages per patient, per channel, per local day
	EmailFallback bool   // send the email version when an SMS fails permanently
	// ShowTreatment lets {{.Treatment}} name the treatment in texts and
	// email subjects; off by default, since they show on lock screens.
	ShowTreatment bool

	// Two-way messaging and records.
	AlertEmail string // where a reply naming a warning sign is emailed; "" for none
	// TwilioOptOutReplies says Twilio's own Advanced Opt-Out answers STOP
	// and HELP for this clinic's sender, so Aftercare sends no second one.
	TwilioOptOutReplies bool
	RetentionDays       int  // message bodies and reply texts older than this are purged; 0 keeps them
	PatientLinks        bool // add the patient's own page link to the first SMS and to emails
	// SummaryAt is when, in the clinic's zone, the daily summary of the
	// day before is emailed to SummaryTo ("a@x.example, b@y.example");
	// no address (the default) sends none. See summary.go.
	SummaryAt Clock
	SummaryTo string
	Default   bool // the clinic commands act on when --clinic is not given

	// The clinic's own senders; empty uses the server's (TWILIO_FROM or
	// TWILIO_MESSAGING_SERVICE_SID, SMTP_FROM). SMSFrom is an E.164 number
	// or a Twilio Messaging Service SID (MG...) of the server's Twilio
	// account; EmailFrom a bare address the SMTP relay may send from.
	SMSFrom   string
	EmailFrom string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Default settings for a new clinic.
const (
	DefaultWindowStart = Clock(8 * 60)  // 08:00
	DefaultWindowEnd   = Clock(21 * 60) // 21:00
	DefaultDailyCap    = 3
	DefaultCountry     = "US"
)

var (
	slugRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
)

// ValidateSlug reports whether s is a usable slug (lower-case letters, digits
// and dashes, starting with a letter or digit, at most 63 characters).
func ValidateSlug(field, s string) error {
	if !slugRE.MatchString(s) {
		return FieldErrorf(field, "%q is not a valid slug: use lower-case letters, digits and dashes (e.g. %q)", s, "downtown-spa")
	}
	return nil
}

// Validate checks a clinic's settings; it returns EINVALID naming the first
// field that is wrong.
func (c *Clinic) Validate() error {
	if err := ValidateSlug("slug", c.Slug); err != nil {
		return err
	}
	if strings.TrimSpace(c.Name) == "" {
		return FieldErrorf("name", "the clinic needs a name: it is named in every message")
	}
	if err := CheckNameChars("name", c.Name); err != nil {
		return err
	}
	if _, err := LoadZone(c.TZ); err != nil {
		return err
	}
	if err := c.Window.Validate(); err != nil {
		return err
	}
	if c.DailyCap < 1 || c.DailyCap > 50 {
		return FieldErrorf("daily_cap", "the daily cap must be between 1 and 50 messages, got %d", c.DailyCap)
	}
	if c.Phone != "" && !strings.HasPrefix(c.Phone, "+") {
		return FieldErrorf("phone", "the clinic phone must be stored in E.164 form, got %q", c.Phone)
	}
	if c.SMSFrom != "" && !e164RE.MatchString(c.SMSFrom) && !serviceSIDRE.MatchString(c.SMSFrom) {
		return FieldErrorf("sms_from", "%q is neither a phone number in E.164 form (+14155550100) nor a Twilio Messaging Service SID (MG followed by 32 hex digits)", c.SMSFrom)
	}
	if c.EmailFrom != "" {
		addr, err := NormalizeEmail(c.EmailFrom)
		if err != nil || addr != c.EmailFrom {
			return FieldErrorf("email_from", "%q is not a bare, lower-case email address such as aftercare@clinic.example.com", c.EmailFrom)
		}
	}
	if c.AlertEmail != "" {
		addr, err := NormalizeEmail(c.AlertEmail)
		if err != nil || addr != c.AlertEmail {
			return FieldErrorf("alert_email", "%q is not a bare, lower-case email address such as nurse@clinic.example.com", c.AlertEmail)
		}
	}
	if c.RetentionDays < 0 || (c.RetentionDays > 0 && c.RetentionDays < 30) || c.RetentionDays > 3650 {
		return FieldErrorf("retention_days", "keep message texts between 30 and 3650 days, or 0 to keep them, got %d", c.RetentionDays)
	}
	if len(c.Country) != 2 || strings.ToUpper(c.Country) != c.Country {
		return FieldErrorf("country", "country must be a two-letter ISO code such as US or GB, got %q", c.Country)
	}
	return c.validateSummary()
}

// Clock is a local wall-clock time of day, in minutes after midnight (0..1439).
type Clock int

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (Clock, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, Errorf(EINVALID, "%q is not a time of day: write HH:MM on a 24-hour clock, e.g. \"09:00\"", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, Errorf(EINVALID, "%q is not a time of day: write HH:MM on a 24-hour clock, e.g. \"09:00\"", s)
	}
	return Clock(h*60 + m), nil
}

// Hour returns the hour part.
func (c Clock) Hour() int { return int(c) / 60 }

// Minute returns the minute part.
func (c Clock) Minute() int { return int(c) % 60 }

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour(), c.Minute()) }

// Window is the daily send window [Start, End) in a patient's local time:
// 08:00-21:00 means 20:59 is inside and 21:00 is not.
type Window struct {
	Start Clock
	End   Clock
}

// ParseWindow reads "HH:MM-HH:MM".
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, FieldErrorf("window", "%q is not a send window: write START-END, e.g. 08:00-21:00", s)
	}
	start, err := ParseClock(strings.TrimSpace(a))
	if err != nil {
		return Window{}, FieldErrorf("window", "send window %q: %s", s, ErrorMessage(err))
	}
	end, err := ParseClock(strings.TrimSpace(b))
	if err != nil {
		return Window{}, FieldErrorf("window", "send window %q: %s", s, ErrorMessage(err))
	}
	w := Window{start, end}
	return w, w.Validate()
}

// Validate checks that the window opens before it closes and is at least an hour long.
func (w Window) Validate() error {
	if w.Start < 0 || w.End > 24*60 || w.End-w.Start < 60 {
		return FieldErrorf("window", "the send window %s must open before it closes and last at least an hour (e.g. 08:00-21:00)", w)
	}
	return nil
}

// Contains reports whether the local wall-clock minute c is inside the window.
func (w Window) Contains(c Clock) bool { return c >= w.Start && c < w.End }

func (w Window) String() string { return w.Start.String() + "-" + w.End.String() }

// LoadZone loads an IANA zone by name. The empty name, "Local" and unknown
// zones are rejected: a patient's messages must not depend on the server's zone.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, FieldErrorf("tz", "a time zone is required: give the IANA name, e.g. America/New_York")
	case "Local":
		return nil, FieldErrorf("tz", "\"Local\" depends on the server; give the patient's IANA zone, e.g. America/New_York")
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, FieldErrorf("tz", "unknown time zone %q: give an IANA name such as America/New_York or Europe/London", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones caches the zones LoadZone loaded (time.LoadLocation reads and parses
// the zone file every time: twice per row of an import). Only valid names
// are kept, so it holds at most the few hundred IANA zones.
var zones sync.Map // name -> *time.Location

// ClinicStore keeps clinics and their settings.
type ClinicStore interface {
	// CreateClinic stores c and sets its ID and times. ECONFLICT if the slug
	// is taken. If c.Default is set, every other clinic stops being the default.
	CreateClinic(ctx context.Context, c *Clinic) error
	// FindClinic returns the clinic with that slug, or the default clinic for
	// slug "". ENOTFOUND when there is none.
	FindClinic(ctx context.Context, slug string) (*Clinic, error)
	// FindClinicByID returns the clinic with that id. ENOTFOUND.
	FindClinicByID(ctx context.Context, id int64) (*Clinic, error)
	// ListClinics returns every clinic ordered by slug.
	ListClinics(ctx context.Context) ([]*Clinic, error)
	// UpdateClinic saves c's settings (by ID) and sets UpdatedAt. ENOTFOUND.
	UpdateClinic(ctx context.Context, c *Clinic) error
}
