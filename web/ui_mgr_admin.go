package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/scheduler"
)

// Users (the manager reads the list, the admin changes it), API tokens and
// the clinic's settings.

// UserForm is the add-a-user form as typed.
type UserForm struct {
	Email, Name, Role string
}

// UsersPage is the data of the "users" template.
type UsersPage struct {
	Users   []*aftercare.User
	Roles   []aftercare.Role
	CanEdit bool // the admin's forms are shown
	Me      int64
	Form    UserForm
	Errors  FieldErrors
	// LinkFor and Link are a one-time sign-in link just made: shown on
	// this response only, never stored in the clear.
	LinkFor *aftercare.User
	Link    string
	Expires string
	Done    string // what was just done, shown above the link
}

func (s *Server) usersData(ctx context.Context, p *Principal) (*UsersPage, error) {
	users, err := s.Store.ListUsers(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	return &UsersPage{Users: users, Roles: aftercare.Roles, CanEdit: p.Role.AtLeast(aftercare.RoleAdmin),
		Me: p.User.ID, Form: UserForm{Role: string(aftercare.RoleFrontDesk)}, Errors: FieldErrors{}}, nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	page, err := s.usersData(r.Context(), principal(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "users", "Users", page)
}

// userCreate adds a user and shows their one-time sign-in link, once.
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	page, err := s.usersData(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page.Form = UserForm{Email: strings.TrimSpace(r.PostFormValue("email")), Name: r.PostFormValue("name"), Role: r.PostFormValue("role")}
	email, err := aftercare.NormalizeEmail(page.Form.Email)
	if len(page.Form.Email) > 254 {
		email, err = "", aftercare.FieldErrorf("email", "an email address has at most 254 characters")
	}
	if err == nil && email == "" {
		err = aftercare.FieldErrorf("email", "the email address is required: it is how they sign in")
	}
	page.Errors.Add(err)
	name := strings.Join(strings.Fields(page.Form.Name), " ")
	switch {
	case name == "":
		page.Errors["name"] = "the name is required: colleagues see it in the list"
	case len([]rune(name)) > 120:
		page.Errors["name"] = "the name is longer than 120 characters"
	default:
		page.Errors.Add(aftercare.CheckNameChars("name", name))
	}
	role, err := aftercare.ParseRole(page.Form.Role)
	page.Errors.Add(err)
	if len(page.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "users", "Users", page)
		return
	}
	u := &aftercare.User{ClinicID: p.Clinic.ID, Email: email, Name: name, Role: role}
	if err := s.Accounts.AddUser(ctx, u, ""); aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		page.Errors["email"] = "someone already signs in with this email address (here or at another clinic)"
		s.render(w, r, http.StatusConflict, "users", "Users", page)
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger().Info("user added", "clinic", p.Clinic.ID, "user", u.ID, "role", u.Role, "by", p.Actor())
	s.audit(r, aftercare.AuditUserAdd, fmt.Sprintf("user %d", u.ID), string(u.Role))
	s.showLink(w, r, page, u, fmt.Sprintf("Added %s.", u.Name))
}

// showLink makes a one-time sign-in link for u and renders the users page
// with it: the only time the link is shown.
func (s *Server) showLink(w http.ResponseWriter, r *http.Request, page *UsersPage, u *aftercare.User, done string) {
	path, expires, err := s.Accounts.CreateLink(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if page.Users, err = s.Store.ListUsers(r.Context(), u.ClinicID); err != nil {
		s.fail(w, r, err)
		return
	}
	page.Form = UserForm{Role: string(aftercare.RoleFrontDesk)}
	page.LinkFor, page.Link = u, s.linkBase(r)+path
	page.Expires = mgrTime(expires, clinicZone(principal(r).Clinic), whenLayout)
	page.Done = done
	s.render(w, r, http.StatusOK, "users", "Users", page)
}

// userChange changes a user's role, disables or enables them, or makes a
// new sign-in link (form field "action"). The clinic always keeps an active
// admin: the last one cannot be demoted or disabled.
func (s *Server) userChange(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	id, err := pathID(r, "user")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.Store.FindUser(ctx, p.Clinic.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.usersData(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refuse := func(status int, msg string) {
		page.Errors[""] = msg
		s.render(w, r, status, "users", "Users", page)
	}
	onlyAdmin := fmt.Sprintf("%s is the clinic's only admin: make someone else an admin first, or nobody could change settings, users or tokens.", u.Name)
	action := r.PostFormValue("action")
	switch action {
	case "role":
		role, err := aftercare.ParseRole(r.PostFormValue("role"))
		if err != nil {
			refuse(http.StatusBadRequest, aftercare.ErrorMessage(err))
			return
		}
		if role == u.Role {
			s.redirect(w, r, "/users", "")
			return
		}
		_, err = s.Accounts.SetRole(ctx, u, role, p.User.ID)
		if errors.Is(err, accounts.ErrLastAdmin) {
			refuse(http.StatusConflict, onlyAdmin)
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
	case "disable":
		if !u.Active() {
			s.redirect(w, r, "/users", "")
			return
		}
		_, err := s.Accounts.Disable(ctx, u)
		if errors.Is(err, accounts.ErrLastAdmin) {
			refuse(http.StatusConflict, fmt.Sprintf("%s is the clinic's only admin: make someone else an admin first.", u.Name))
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
	case "enable":
		if u.Active() {
			s.redirect(w, r, "/users", "")
			return
		}
		if _, err := s.Accounts.Enable(ctx, u); err != nil {
			s.fail(w, r, err)
			return
		}
	case "link":
		if !u.Active() {
			refuse(http.StatusConflict, fmt.Sprintf("%s is disabled: enable them before sending a sign-in link.", u.Name))
			return
		}
		s.logger().Info("sign-in link made", "clinic", p.Clinic.ID, "user", u.ID, "by", p.Actor())
		s.showLink(w, r, page, u, "")
		return
	default:
		refuse(http.StatusBadRequest, "unknown action: use the buttons of the list")
		return
	}
	s.logger().Info("user changed", "clinic", p.Clinic.ID, "user", u.ID, "action", action, "role", u.Role, "by", p.Actor())
	s.audit(r, aftercare.AuditUserChange, fmt.Sprintf("user %d", u.ID), action+" (role "+string(u.Role)+")")
	msg := map[string]string{
		"role":    fmt.Sprintf("%s is now %s.", u.Name, u.Role.Label()),
		"disable": fmt.Sprintf("%s is disabled and signed out everywhere.", u.Name),
		"enable":  fmt.Sprintf("%s may sign in again.", u.Name),
	}[action]
	s.redirect(w, r, "/users", msg)
}

// TokenForm is the new-token form as typed.
type TokenForm struct {
	Name, Role string
}

// TokensPage is the data of the "tokens" template.
type TokensPage struct {
	Tokens []*aftercare.Token
	Roles  []aftercare.Role
	Form   TokenForm
	Errors FieldErrors
	// Secret and Made are a token just created: the secret is shown on
	// this response only.
	Secret string
	Made   *aftercare.Token
}

func (s *Server) tokensData(ctx context.Context, p *Principal) (*TokensPage, error) {
	list, err := s.Store.ListTokens(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	return &TokensPage{Tokens: list, Roles: aftercare.Roles, Form: TokenForm{Role: string(aftercare.RoleFrontDesk)}, Errors: FieldErrors{}}, nil
}

// newTokenCookie carries a token just made ("ID.SECRET") from the form's
// redirect to the one page that shows it.
const newTokenCookie = "aftercare_new_token"

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	page, err := s.tokensData(r.Context(), principal(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c, err := r.Cookie(newTokenCookie); err == nil {
		http.SetCookie(w, &http.Cookie{Name: newTokenCookie, Path: "/tokens", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: s.SecureCookies})
		id, secret, _ := strings.Cut(c.Value, ".")
		// Shown only when it is this clinic's live token: the cookie
		// cannot make the page show any other text.
		for _, t := range page.Tokens {
			if strconv.FormatInt(t.ID, 10) == id && t.RevokedAt.IsZero() && t.Hash == accounts.HashSecret(secret) {
				page.Secret, page.Made = secret, t
			}
		}
	}
	s.render(w, r, http.StatusOK, "tokens", "API tokens", page)
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	page, err := s.tokensData(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page.Form = TokenForm{Name: r.PostFormValue("name"), Role: r.PostFormValue("role")}
	name := strings.TrimSpace(page.Form.Name)
	if len([]rune(name)) > 100 {
		page.Errors["name"] = "the name is longer than 100 characters"
	}
	if _, err := aftercare.ParseRole(page.Form.Role); err != nil {
		page.Errors.Add(err)
	}
	if len(page.Errors) == 0 {
		secret, t, err := s.Accounts.CreateToken(ctx, p.Clinic.ID, name, aftercare.Role(page.Form.Role), p.User.Email)
		if err == nil {
			s.logger().Info("token created", "clinic", p.Clinic.ID, "token", t.ID, "role", t.Role, "by", p.Actor())
			s.audit(r, aftercare.AuditTokenCreate, fmt.Sprintf("token %d", t.ID), string(t.Role))
			// Post, redirect, get: a refresh must not make a second token.
			// The secret rides to the next page in a short-lived cookie
			// that page reads once and clears.
			http.SetCookie(w, &http.Cookie{Name: newTokenCookie, Value: strconv.FormatInt(t.ID, 10) + "." + secret, Path: "/tokens",
				MaxAge: 300, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.SecureCookies})
			s.redirect(w, r, "/tokens", "")
			return
		}
		if !page.Errors.Add(err) {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusBadRequest, "tokens", "API tokens", page)
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := pathID(r, "token")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Store.RevokeToken(r.Context(), p.Clinic.ID, id, s.Now().UTC()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger().Info("token revoked", "clinic", p.Clinic.ID, "token", id, "by", p.Actor())
	s.audit(r, aftercare.AuditTokenRevoke, fmt.Sprintf("token %d", id), "")
	s.redirect(w, r, "/tokens", "The token is revoked: requests that use it are refused from now on.")
}

// SettingsForm is the clinic settings form as typed.
type SettingsForm struct {
	Name, Phone, Country, TZ string
	WindowStart, WindowEnd   string
	DailyCap                 string
	EmailFallback            bool
	ShowTreatment            bool   // texts and email subjects name the treatment
	SMSFrom, EmailFrom       string // the clinic's own senders; "" for the server's
	RecordsForm
	SummaryForm
}

// SettingsPage is the data of the "settings" template.
type SettingsPage struct {
	Form   SettingsForm
	Errors FieldErrors
	Zones  []string
	Clinic *aftercare.Clinic
	// Twilio says whether this server texts through Twilio (its status
	// webhook is wired only then); without it SMS go to the outbox file.
	Twilio bool
	// Summaries are the clinic's last daily summaries (ui_mgr_summary.go);
	// SummaryNoSMTP says this server has no SMTP relay to send them.
	Summaries     []SummaryRow
	SummaryNoSMTP bool
	// Warnings are the messages the typed send window and daily cap would
	// move or drop that the current ones send on time; nothing is saved
	// until the form comes back with Confirm (settingsConfirm of them).
	Warnings []SettingsWarningView
	Confirm  string
	// WarnedWindow, WarnedCap, WarnedDay and WarnedTZ say what was tried.
	WarnedWindow, WarnedDay, WarnedTZ string
	WarnedCap                         int
}

// SettingsWarningView is one line of the settings warnings.
type SettingsWarningView struct {
	Protocol, Treated, Step, Channel, Due, Outcome string
}

// settingsZones are offered as suggestions; any IANA zone is accepted.
var settingsZones = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Vancouver",
	"America/Mexico_City", "America/Puerto_Rico", "Europe/London", "Europe/Dublin", "Europe/Madrid",
	"Europe/Paris", "Europe/Berlin", "Australia/Sydney", "UTC"}

// settingsMax bounds every settings field, so no validator is handed a
// megabyte.
const settingsMax = 200

func (s *Server) settingsData(c *aftercare.Clinic) *SettingsPage {
	sms := c.SMSFrom
	if !strings.HasPrefix(sms, "MG") {
		sms = aftercare.DisplayPhone(sms)
	}
	return &SettingsPage{Clinic: c, Errors: FieldErrors{}, Zones: settingsZones, Twilio: s.Twilio != nil,
		Form: SettingsForm{Name: c.Name, Phone: aftercare.DisplayPhone(c.Phone), Country: c.Country, TZ: c.TZ,
			WindowStart: c.Window.Start.String(), WindowEnd: c.Window.End.String(),
			DailyCap: strconv.Itoa(c.DailyCap), EmailFallback: c.EmailFallback, ShowTreatment: c.ShowTreatment,
			SMSFrom: sms, EmailFrom: c.EmailFrom, RecordsForm: recordsForm(c), SummaryForm: summaryForm(c)}}
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	page := s.settingsData(principal(r).Clinic)
	s.summaryStatus(r.Context(), page)
	s.render(w, r, http.StatusOK, "settings", "Clinic settings", page)
}

// settingsSave checks every setting, shows each problem beside its field,
// and saves only when all are right (scheduler.Service.CheckedUpdateClinic
// checks them again and saves all or nothing). A new send window or daily
// cap that moves or drops messages is shown with them, and saved only when
// the form comes back confirmed ("Save anyway").
func (s *Server) settingsSave(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	page := s.settingsData(p.Clinic)
	s.summaryStatus(r.Context(), page)
	e := page.Errors
	field := func(name string) string {
		v := strings.TrimSpace(r.PostFormValue(name))
		if len(v) > settingsMax {
			e[name] = fmt.Sprintf("this is longer than %d characters", settingsMax)
		}
		return v
	}
	f := SettingsForm{Name: field("name"), Phone: field("phone"), Country: strings.ToUpper(field("country")), TZ: field("tz"),
		WindowStart: field("window_start"), WindowEnd: field("window_end"), DailyCap: field("daily_cap"),
		EmailFallback: r.PostFormValue("email_fallback") != "", ShowTreatment: r.PostFormValue("show_treatment") != "",
		// The senders are shown, not taken from the form: the operator
		// assigns them (senderUnchanged).
		SMSFrom: page.Form.SMSFrom, EmailFrom: page.Form.EmailFrom}
	f.RecordsForm = readRecordsForm(r, field)
	f.SummaryForm = readSummaryForm(field)
	page.Form = f
	if len(e) > 0 {
		s.render(w, r, http.StatusBadRequest, "settings", "Clinic settings", page)
		return
	}
	if f.Name == "" {
		e["name"] = "the clinic needs a name: it is named in every message"
	}
	countryOK := len(f.Country) == 2 && strings.Trim(f.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
	if !countryOK {
		e["country"] = "write the two-letter country code, e.g. US, CA or GB"
	} else if _, err := aftercare.NormalizePhone(f.Phone, f.Country); err != nil {
		e.Add(err)
	}
	if _, err := aftercare.LoadZone(f.TZ); err != nil {
		e.Add(err)
	}
	start, err1 := aftercare.ParseClock(f.WindowStart)
	end, err2 := aftercare.ParseClock(f.WindowEnd)
	if err1 != nil {
		e["window_start"] = aftercare.ErrorMessage(err1)
	}
	if err2 != nil {
		e["window_end"] = aftercare.ErrorMessage(err2)
	}
	if err1 == nil && err2 == nil {
		e.Add((aftercare.Window{Start: start, End: end}).Validate())
	}
	if n, err := strconv.Atoi(f.DailyCap); err != nil {
		e["daily_cap"] = fmt.Sprintf("%q is not a whole number", f.DailyCap)
	} else if n < 1 || n > 50 {
		e["daily_cap"] = fmt.Sprintf("the daily cap must be between 1 and 50 messages, got %d", n)
	}
	checkRecordsForm(e, p.Clinic, f.RecordsForm)
	checkSummaryForm(e, f.SummaryForm)
	if len(e) == 0 {
		window := f.WindowStart + "-" + f.WindowEnd
		fallback, showTreatment := yesNo(f.EmailFallback), yesNo(f.ShowTreatment)
		confirmed := r.PostFormValue("confirm") != "" && r.PostFormValue("confirm") == settingsConfirm(window, f.DailyCap)
		ch := scheduler.ClinicChanges{Name: &f.Name, Phone: &f.Phone,
			Country: &f.Country, TZ: &f.TZ, Window: &window, DailyCap: &f.DailyCap, EmailFallback: &fallback,
			ShowTreatment: &showTreatment,
			AlertEmail:    &f.AlertEmail, TwilioOptOutReplies: ptr(yesNo(f.TwilioOptOutReplies)),
			RetentionDays: &f.RetentionDays, PatientLinks: ptr(yesNo(f.PatientLinks))}
		summaryChanges(&ch, f.SummaryForm)
		u, err := s.Service.CheckedUpdateClinic(r.Context(), p.Clinic.Slug, ch, confirmed)
		if err == nil && u.Saved {
			s.logger().Info("clinic settings changed", "clinic", p.Clinic.ID, "by", p.Actor())
			flash := "Settings saved."
			if n := len(scheduler.NewWarnings(u.Warnings)); n > 0 {
				flash = fmt.Sprintf("Settings saved. The new send window and daily cap move or drop %d message(s) of the sample treatments.", n)
			}
			s.redirect(w, r, "/settings", flash)
			return
		}
		if err == nil {
			settingsWarnings(page, u, settingsConfirm(window, f.DailyCap))
			s.render(w, r, http.StatusOK, "settings", "Clinic settings", page)
			return
		}
		if !e.Add(err) {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusBadRequest, "settings", "Clinic settings", page)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// settingsConfirm is the value of the form's confirm field for a send
// window and daily cap: "Save anyway" confirms the settings that were
// checked, so a form changed after the warnings is checked again.
func settingsConfirm(window, dailyCap string) string {
	if n, err := strconv.Atoi(dailyCap); err == nil {
		dailyCap = strconv.Itoa(n)
	}
	return window + " " + dailyCap
}

// settingsWarnings puts on page the new warnings of u, which was not saved.
func settingsWarnings(page *SettingsPage, u *scheduler.ClinicUpdate, confirm string) {
	fresh := scheduler.NewWarnings(u.Warnings)
	page.Confirm = confirm
	page.WarnedWindow, page.WarnedCap, page.WarnedTZ = u.Clinic.Window.String(), u.Clinic.DailyCap, u.Clinic.TZ
	if len(fresh) > 0 {
		page.WarnedDay = fresh[0].Treated.Format("Monday, January 2")
	}
	for _, w := range fresh {
		page.Warnings = append(page.Warnings, SettingsWarningView{Protocol: w.Protocol, Treated: w.Treated.Format("15:04"),
			Step: w.Step, Channel: string(w.Channel), Due: fmt.Sprintf("day %d, %s", w.Day, w.Due.Format("15:04")), Outcome: w.Outcome()})
	}
}
