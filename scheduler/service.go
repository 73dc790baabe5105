package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/templates"
)

// Service is what the front desk does to a clinic's data: clinics,
// protocols, previews, enrollments. The command line and the web app call
// it; it speaks domain types and aftercare.Error codes only.
type Service struct {
	Store aftercare.Store
	Now   func() time.Time
	// Pages, when set, makes previews of clinics with PatientLinks on show
	// a placeholder of the patient page link on the first text.
	Pages *dispatch.PageLinks

	mu       sync.Mutex
	compiled map[int64]*Compiled // by protocol version id
}

// NewService returns a Service on store with the given clock (time.Now if nil).
func NewService(store aftercare.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{Store: store, Now: now, compiled: map[int64]*Compiled{}}
}

// Compiled is a stored protocol version with its parsed steps and compiled
// templates.
type Compiled struct {
	*aftercare.Protocol
	Renderer *templates.Renderer
}

// ClinicDefaults describe the clinic created on the first run
// (AFTERCARE_CLINIC_NAME, AFTERCARE_CLINIC_PHONE, AFTERCARE_CLINIC_TZ).
type ClinicDefaults struct {
	Slug, Name, Phone, TZ, Country string
}

// Bootstrap makes sure a default clinic exists (creating it from d on the
// first run) and that every clinic has the current built-in protocols. It
// returns EINVALID when d cannot make a valid clinic.
func (s *Service) Bootstrap(ctx context.Context, d ClinicDefaults) error {
	if _, err := s.Store.FindClinic(ctx, ""); aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		if d.Slug == "" {
			d.Slug = "main"
		}
		if d.Name == "" {
			d.Name = "Aftercare Clinic"
		}
		if d.TZ == "" {
			d.TZ = "UTC"
		}
		if _, err := s.AddClinic(ctx, d, true); err != nil && aftercare.ErrorCode(err) != aftercare.ECONFLICT {
			return fmt.Errorf("creating the first clinic from AFTERCARE_CLINIC_*: %w", err)
		}
	} else if err != nil {
		return err
	}
	clinics, err := s.Store.ListClinics(ctx)
	if err != nil {
		return err
	}
	for _, c := range clinics {
		if err := s.SyncBuiltins(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// AddClinic creates a clinic with default settings. EINVALID for bad
// input, ECONFLICT when the slug is taken.
func (s *Service) AddClinic(ctx context.Context, d ClinicDefaults, isDefault bool) (*aftercare.Clinic, error) {
	c := &aftercare.Clinic{
		Slug: d.Slug, Name: strings.TrimSpace(d.Name), TZ: d.TZ,
		Country:       strings.ToUpper(d.Country),
		Window:        aftercare.Window{Start: aftercare.DefaultWindowStart, End: aftercare.DefaultWindowEnd},
		DailyCap:      aftercare.DefaultDailyCap,
		EmailFallback: true,
		Default:       isDefault,
		SummaryAt:     aftercare.DefaultSummaryAt,
	}
	if err := setClinicPhone(c, d.Phone); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.Store.CreateClinic(ctx, c); err != nil {
		return nil, err
	}
	return c, s.SyncBuiltins(ctx, c.ID)
}

func setClinicPhone(c *aftercare.Clinic, raw string) error {
	region := c.Country
	if region == "" {
		region = aftercare.DefaultCountry
	}
	p, err := aftercare.NormalizePhone(raw, region)
	if err != nil {
		return err
	}
	c.Phone = p
	if c.Country == "" {
		c.Country = aftercare.RegionOfPhone(p)
	}
	if c.Country == "" {
		c.Country = aftercare.DefaultCountry
	}
	return nil
}

// ClinicChanges are the settings `clinic set` may change; nil leaves one as is.
type ClinicChanges struct {
	Name, Phone, TZ, Country, Window, DailyCap, EmailFallback *string
	// ShowTreatment (yes/no) lets texts and email subjects name the
	// treatment.
	ShowTreatment *string
	// SMSFrom and EmailFrom set the clinic's own senders; "" goes back to
	// the server's.
	SMSFrom, EmailFrom *string
	// AlertEmail is where red-flag replies are emailed ("" for none);
	// TwilioOptOutReplies (yes/no) says Twilio answers STOP and HELP
	// itself; RetentionDays (a whole number, 0 keeps texts) is how long
	// message and reply texts are kept; PatientLinks (yes/no) adds the
	// patient's own page link to their first SMS and emails.
	AlertEmail, TwilioOptOutReplies, RetentionDays, PatientLinks *string
	// SummaryAt ("HH:MM" in the clinic's zone, or "off") and SummaryTo
	// (addresses; "" for none) set the manager's daily summary email.
	SummaryAt, SummaryTo *string
}

// UpdateClinic applies ch to the clinic named by slug ("" for the default)
// after validating all of it; nothing is saved if any setting is wrong.
func (s *Service) UpdateClinic(ctx context.Context, slug string, ch ClinicChanges) (*aftercare.Clinic, error) {
	current, c, err := s.ProposeClinic(ctx, slug, ch)
	if err != nil {
		return nil, err
	}
	if err := s.Store.UpdateClinic(ctx, c); err != nil {
		return nil, err
	}
	return c, s.Audit(ctx, c.ID, aftercare.AuditClinicUpdate, "clinic "+c.Slug, clinicChanged(current, c))
}

// ProposeClinic returns the clinic named by slug as stored and as ch would
// leave it, validated, saving nothing (CheckedUpdateClinic looks at both).
func (s *Service) ProposeClinic(ctx context.Context, slug string, ch ClinicChanges) (current, proposed *aftercare.Clinic, err error) {
	current, err = s.Store.FindClinic(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	c := new(aftercare.Clinic)
	*c = *current
	if err := applyClinicChanges(c, ch); err != nil {
		return nil, nil, err
	}
	if err := s.sendersFree(ctx, current, c); err != nil {
		return nil, nil, err
	}
	return current, c, nil
}

// sendersFree returns ECONFLICT, naming the clinic, when c takes a sender
// that another clinic has (the database refuses it too, without the name).
// Senders are the operator's to assign (`aftercare clinic set`): the web
// app and the API do not change them, so the name goes to no other tenant.
func (s *Service) sendersFree(ctx context.Context, current, c *aftercare.Clinic) error {
	if (c.SMSFrom == "" || c.SMSFrom == current.SMSFrom) && (c.EmailFrom == "" || c.EmailFrom == current.EmailFrom) {
		return nil
	}
	all, err := s.Store.ListClinics(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		switch {
		case o.ID == c.ID:
		case c.SMSFrom != "" && o.SMSFrom == c.SMSFrom:
			return aftercare.Errorf(aftercare.ECONFLICT, "sms_from: %s is already the text sender of clinic %q (%s): each clinic needs its own", c.SMSFrom, o.Slug, o.Name)
		case c.EmailFrom != "" && o.EmailFrom == c.EmailFrom:
			return aftercare.Errorf(aftercare.ECONFLICT, "email_from: %s is already the email sender of clinic %q (%s): each clinic needs its own", c.EmailFrom, o.Slug, o.Name)
		}
	}
	return nil
}

// applyClinicChanges sets on c the settings ch gives and validates the
// result.
func applyClinicChanges(c *aftercare.Clinic, ch ClinicChanges) (err error) {
	if ch.Name != nil {
		c.Name = strings.TrimSpace(*ch.Name)
	}
	if ch.Country != nil {
		c.Country = strings.ToUpper(strings.TrimSpace(*ch.Country))
	}
	if ch.Phone != nil {
		if err := setClinicPhone(c, *ch.Phone); err != nil {
			return err
		}
	}
	if ch.TZ != nil {
		c.TZ = *ch.TZ
	}
	if ch.Window != nil {
		if c.Window, err = aftercare.ParseWindow(*ch.Window); err != nil {
			return err
		}
	}
	if ch.DailyCap != nil {
		n, err := strconv.Atoi(strings.TrimSpace(*ch.DailyCap))
		if err != nil {
			return aftercare.FieldErrorf("daily_cap", "%q is not a whole number", *ch.DailyCap)
		}
		c.DailyCap = n
	}
	if ch.EmailFallback != nil {
		b, err := ParseBool(*ch.EmailFallback)
		if err != nil {
			return aftercare.FieldErrorf("email_fallback", "%s", err)
		}
		c.EmailFallback = b
	}
	if ch.ShowTreatment != nil {
		b, err := ParseBool(*ch.ShowTreatment)
		if err != nil {
			return aftercare.FieldErrorf("show_treatment", "%s", err)
		}
		c.ShowTreatment = b
	}
	if ch.SMSFrom != nil {
		c.SMSFrom = strings.TrimSpace(*ch.SMSFrom)
		if c.SMSFrom != "" && !strings.HasPrefix(c.SMSFrom, "MG") {
			e164, err := aftercare.NormalizePhone(c.SMSFrom, c.Country)
			if ae := (*aftercare.Error)(nil); errors.As(err, &ae) {
				return aftercare.FieldErrorf("sms_from", "%s", ae.Message)
			}
			c.SMSFrom = e164
		}
	}
	if ch.EmailFrom != nil {
		c.EmailFrom = strings.ToLower(strings.TrimSpace(*ch.EmailFrom))
	}
	if err := applyRecordChanges(c, ch); err != nil {
		return err
	}
	if err := applySummaryChanges(c, ch); err != nil {
		return err
	}
	return c.Validate()
}

// ParseBool reads the yes/no words people put in forms and spreadsheets.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "y", "yes", "true", "t", "on", "x", "si", "sí":
		return true, nil
	case "", "0", "n", "no", "false", "f", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}

// SyncBuiltins stores the built-in protocols for a clinic: version 1 the
// first time, and a new version when the binary ships a changed built-in.
// A slug whose latest version the clinic imported itself is left alone.
func (s *Service) SyncBuiltins(ctx context.Context, clinicID int64) error {
	for _, b := range templates.Builtins() {
		latest, err := s.Store.FindProtocol(ctx, clinicID, b.Slug, 0)
		switch {
		case aftercare.ErrorCode(err) == aftercare.ENOTFOUND:
		case err != nil:
			return err
		case latest.Source != aftercare.SourceBuiltin || latest.SHA256 == sha(b.YAML):
			continue
		}
		p, err := templates.Parse(b.Slug+".yaml", b.YAML)
		if err != nil {
			return fmt.Errorf("built-in protocol %s: %w", b.Slug, err)
		}
		p.ClinicID, p.Source = clinicID, aftercare.SourceBuiltin
		if err := s.Store.SaveProtocol(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// protocolChoices names the clinic's protocols for an error message,
// wherever it is read (the web, the API, the command line).
func (s *Service) protocolChoices(ctx context.Context, clinicID int64) string {
	ps, err := s.Store.ListProtocols(ctx, clinicID)
	if err != nil || len(ps) == 0 {
		return "the clinic has no protocol yet: a manager adds one first"
	}
	slugs := make([]string, len(ps))
	for i, p := range ps {
		slugs[i] = p.Slug
	}
	return "use one of: " + strings.Join(slugs, ", ")
}

// Protocol returns a stored protocol version (the latest for version 0)
// parsed and compiled. ENOTFOUND names the slug.
func (s *Service) Protocol(ctx context.Context, clinicID int64, slug string, version int) (*Compiled, error) {
	p, err := s.Store.FindProtocol(ctx, clinicID, slug, version)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		if version > 0 {
			return nil, aftercare.FieldErrorf("protocol", "protocol %q has no version %d", slug, version)
		}
		return nil, aftercare.FieldErrorf("protocol", "no protocol %q in this clinic; %s", slug, s.protocolChoices(ctx, clinicID))
	} else if err != nil {
		return nil, err
	}
	return s.compile(p)
}

func (s *Service) protocolByID(ctx context.Context, clinicID, id int64) (*Compiled, error) {
	s.mu.Lock()
	c := s.compiled[id]
	s.mu.Unlock()
	if c != nil && c.ClinicID == clinicID {
		return c, nil
	}
	p, err := s.Store.FindProtocolByID(ctx, clinicID, id)
	if err != nil {
		return nil, err
	}
	return s.compile(p)
}

func (s *Service) compile(stored *aftercare.Protocol) (*Compiled, error) {
	s.mu.Lock()
	c := s.compiled[stored.ID]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	p, err := templates.Parse(stored.Slug+".yaml", []byte(stored.YAML))
	if err != nil {
		return nil, fmt.Errorf("stored protocol %s v%d no longer parses: %w", stored.Slug, stored.Version, err)
	}
	p.ID, p.ClinicID, p.Version, p.Source, p.CreatedAt = stored.ID, stored.ClinicID, stored.Version, stored.Source, stored.CreatedAt
	r, err := templates.Compile(p)
	if err != nil {
		return nil, err
	}
	c = &Compiled{Protocol: p, Renderer: r}
	s.mu.Lock()
	s.compiled[stored.ID] = c
	s.mu.Unlock()
	return c, nil
}

// ImportProtocol validates a clinic's protocol file and stores it as the
// next version of its slug. A file identical to the latest version stores
// nothing and returns that version with created=false. A *templates.ParseError
// (EINVALID) lists every problem with its line and column.
func (s *Service) ImportProtocol(ctx context.Context, clinicID int64, filename string, src []byte) (p *aftercare.Protocol, created bool, err error) {
	p, err = templates.Parse(filename, src)
	if err != nil {
		return nil, false, err
	}
	latest, err := s.Store.FindProtocol(ctx, clinicID, p.Slug, 0)
	if err == nil && latest.SHA256 == p.SHA256 {
		return latest, false, nil
	} else if err != nil && aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		return nil, false, err
	}
	p.ClinicID, p.Source = clinicID, aftercare.SourceClinic
	if err := s.Store.SaveProtocol(ctx, p); err != nil {
		return nil, false, err
	}
	return p, true, s.Audit(ctx, clinicID, aftercare.AuditProtocolImport, "protocol "+p.Slug, fmt.Sprintf("version %d", p.Version))
}

// PreviewRequest asks for a protocol's timeline without enrolling anyone.
type PreviewRequest struct {
	Protocol  string
	Version   int
	TreatedAt string // RFC 3339, or local YYYY-MM-DDTHH:MM read in TZ
	TZ        string
	Lang      string // "" for the protocol's first language
	Name      string // the first name used in the texts ("" for a sample)
}

// Preview returns the messages a patient in req.TZ would get, on every
// channel of every step, with nothing skipped and nothing stored.
func (s *Service) Preview(ctx context.Context, clinic *aftercare.Clinic, req PreviewRequest) (*Compiled, []*aftercare.Message, error) {
	loc, err := aftercare.LoadZone(req.TZ)
	if err != nil {
		return nil, nil, err
	}
	treated, err := aftercare.ParseTreatmentTime(req.TreatedAt, loc)
	if err != nil {
		return nil, nil, err
	}
	cp, err := s.Protocol(ctx, clinic.ID, req.Protocol, req.Version)
	if err != nil {
		return nil, nil, err
	}
	lang, err := pickLang(cp.Protocol, req.Lang)
	if err != nil {
		return nil, nil, err
	}
	if req.Name == "" {
		req.Name = "Alex"
	}
	msgs, err := Expand(Plan{
		Protocol: cp.Protocol, Renderer: cp.Renderer, Clinic: clinic,
		Patient:   &aftercare.Patient{Name: req.Name, TZ: req.TZ, Lang: lang},
		TreatedAt: treated, AllChannels: true, PageURL: s.previewPageURL(clinic),
	})
	return cp, msgs, err
}

func (s *Service) previewPageURL(c *aftercare.Clinic) string {
	if !c.PatientLinks || !s.Pages.Enabled() {
		return ""
	}
	return s.Pages.Placeholder()
}

func pickLang(p *aftercare.Protocol, lang string) (string, error) {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "" {
		return p.Languages[0], nil
	}
	if !p.HasLanguage(lang) {
		return "", aftercare.FieldErrorf("lang", "protocol %q has no %q text; it is written in %s", p.Slug, lang, strings.Join(p.Languages, ", "))
	}
	return lang, nil
}
