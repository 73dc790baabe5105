package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
)

// SessionCookie holds a signed-in browser's session secret; the session's
// rules (lifetimes, expiry) are accounts.Service's.
const SessionCookie = "aftercare_session"

// Principal is who is making a request: a signed-in user (User and Session
// set) or an API token (Token set). Every handler reads and writes only
// Clinic's data.
type Principal struct {
	Clinic  *aftercare.Clinic
	Role    aftercare.Role
	User    *aftercare.User
	Session *aftercare.Session
	Token   *aftercare.Token
}

// Actor names the principal in audit fields ("web:ana@clinic.example",
// "api:EHR integration").
func (p *Principal) Actor() string {
	if p.Token != nil {
		return "api:" + p.Token.Name
	}
	return "web:" + p.User.Email
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *Principal) context.Context {
	ctx = aftercare.WithActor(ctx, p.auditActor()) // who the audit log names (ui_mgr_audit.go)
	return context.WithValue(ctx, principalKey{}, p)
}

// principal returns the request's principal, nil when nobody signed in.
func principal(r *http.Request) *Principal {
	p, _ := r.Context().Value(principalKey{}).(*Principal)
	return p
}

// middleware wraps every route: security headers, cross-origin protection
// for unsafe methods (net/http's CrossOriginProtection, which reads
// Sec-Fetch-Site and Origin), and authentication.
func (s *Server) middleware(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.PublicURL != "" {
		if u, err := url.Parse(s.PublicURL); err == nil && u.Host != "" {
			if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
				s.logger().Warn("AFTERCARE_PUBLIC_URL is not an origin cross-origin checks can trust", "err", err)
			}
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "cross-origin request refused: submit the form from Aftercare's own pages"))
	}))
	authed := s.authenticate(next)
	protected := cop.Handler(authed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.URL.Path == "/twilio/status" {
			// Server to server; its signature is its protection.
			authed.ServeHTTP(w, r)
			return
		}
		if oneClickUnsubscribe(r) {
			// Mail clients post it from anywhere (RFC 8058); its signed token is its protection.
			authed.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// authenticate finds the principal from a Bearer token or the session
// cookie and puts it in the request's context. It refuses nothing: the
// route wrappers (page, api) decide.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authz := r.Header.Get("Authorization"); authz != "" {
			p, err := s.tokenPrincipal(r.Context(), authz)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aftercare"`)
				s.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			p, err := s.sessionPrincipal(r.Context(), c.Value)
			switch {
			case err == nil:
				r = r.WithContext(withPrincipal(r.Context(), p))
			case aftercare.ErrorCode(err) == aftercare.EUNAUTHORIZED:
				s.clearSessionCookie(w)
			default:
				s.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenPrincipal(ctx context.Context, authz string) (*Principal, error) {
	scheme, secret, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, aftercare.Errorf(aftercare.EUNAUTHORIZED, "use the header Authorization: Bearer TOKEN, with a token from `aftercare token create`")
	}
	t, err := s.Accounts.UseToken(ctx, secret)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.FindClinicByID(ctx, t.ClinicID)
	if err != nil {
		return nil, err
	}
	return &Principal{Clinic: c, Role: t.Role, Token: t}, nil
}

func (s *Server) sessionPrincipal(ctx context.Context, secret string) (*Principal, error) {
	sess, u, err := s.Accounts.Session(ctx, secret)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.FindClinicByID(ctx, sess.ClinicID)
	if err != nil {
		return nil, err
	}
	return &Principal{Clinic: c, Role: u.Role, User: u, Session: sess}, nil
}

// startSession signs u in: a new session and its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *aftercare.User) error {
	secret, _, err := s.Accounts.StartSession(r.Context(), u)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(accounts.SessionLifetime / time.Second)})
	return nil
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfToken is the token the session's forms must carry ("" when signed out).
func csrfToken(r *http.Request) string {
	if p := principal(r); p != nil && p.Session != nil {
		return p.Session.CSRF
	}
	return ""
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// validCSRF checks the session's CSRF token on an unsafe request, from the
// form field "csrf" or the header X-CSRF-Token.
func validCSRF(r *http.Request) bool {
	p := principal(r)
	if p == nil || p.Session == nil {
		return true // tokens carry no ambient authority
	}
	if !unsafeMethod(r.Method) {
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.Session.CSRF)) == 1
}

// page wraps a staff-app handler: signed-in users only (others go to the
// sign-in page), with at least role min, and a CSRF check on every form.
// API tokens cannot use the app.
func (s *Server) page(min aftercare.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if p == nil || p.Session == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, aftercare.Errorf(aftercare.EUNAUTHORIZED, "sign in first"))
			return
		}
		if !p.Role.AtLeast(min) {
			s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "this page is for the %s role and above; you are signed in as %s", min.Label(), p.Role.Label()))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if unsafeMethod(r.Method) {
			if err := parseForm(r); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if !validCSRF(r) {
			s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "the form has expired; reload the page and try again"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// maxForm bounds a form post, file uploads included (a day's CSV is far smaller).
const maxForm = 32 << 20

// parseForm reads a posted form (multipart or urlencoded) and says plainly
// when it is too big, instead of letting the CSRF check fail on it.
func parseForm(r *http.Request) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(8 << 20)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return aftercare.Errorf(aftercare.EINVALID, "the upload is larger than %d MB; split the file and send it in parts", maxForm>>20)
	}
	if err != nil {
		return aftercare.Errorf(aftercare.EINVALID, "the form could not be read: %v", err)
	}
	return nil
}

// api wraps a JSON API handler: a Bearer token or a signed-in session (which
// must send X-CSRF-Token on unsafe methods), with at least role min.
func (s *Server) api(min aftercare.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aftercare"`)
			s.fail(w, r, aftercare.Errorf(aftercare.EUNAUTHORIZED, "send Authorization: Bearer TOKEN, with a token from `aftercare token create`"))
			return
		}
		if !p.Role.AtLeast(min) {
			s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "this needs the %s role; you have %s", min, p.Role))
			return
		}
		if p.Session != nil && unsafeMethod(r.Method) {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.Session.CSRF)) != 1 {
				s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "send the page's CSRF token in X-CSRF-Token"))
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<20)
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// safeNext keeps a post-sign-in redirect on this site: a relative path
// with one leading slash that url.Parse reads with no scheme and no host.
// Control characters and backslashes are refused outright, because
// browsers drop tabs and newlines from URLs and read "\" as "/", so
// "/\t/evil.example" becomes "//evil.example", another host. Anything
// else gives "/".
func safeNext(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, r := range next {
		if r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// routesAuth: sign in, sign out, one-time links.
func (s *Server) routesAuth(mux *http.ServeMux) {
	mux.HandleFunc("GET /signin", s.signInForm)
	mux.HandleFunc("POST /signin", s.signIn)
	mux.HandleFunc("POST /signout", s.signOut)
	mux.HandleFunc("GET /link/{secret}", s.linkForm)
	mux.HandleFunc("POST /link/{secret}", s.useLink)
}

// SignInPage is the data of the "signin" template.
type SignInPage struct {
	Email string
	Next  string
	Error string
}

// LinkPage is the data of the "link" template (choose a password).
type LinkPage struct {
	Secret string
	Error  string // field-less problem, e.g. the link expired
	Field  map[string]string
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	if p := principal(r); p != nil && p.Session != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin", "Sign in", SignInPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ip, now := s.clientIP(r), s.Now()
	page := SignInPage{Next: safeNext(r.PostFormValue("next"))}
	tooMany := func(email string) {
		s.logger().Warn("sign-in rate limited", "remote", ip, "email", aftercare.MaskEmail(email))
		w.Header().Set("Retry-After", "60")
		page.Error = "Too many attempts. Wait a minute, then try again."
		s.render(w, r, http.StatusTooManyRequests, "signin", "Sign in", page)
	}
	// The address's limit first, and the email's length before anything
	// keyed by it is stored: posting long emails must not cost memory.
	if !s.auth.allowAddress(now, ip) {
		tooMany("")
		return
	}
	raw := r.PostFormValue("email")
	if len(raw) > maxEmail {
		page.Error = fmt.Sprintf("An email address has at most %d characters: check the one you typed.", maxEmail)
		s.render(w, r, http.StatusBadRequest, "signin", "Sign in", page)
		return
	}
	email := strings.ToLower(strings.TrimSpace(raw))
	pw := r.PostFormValue("password")
	page.Email = email
	// Per address and account, never per account alone: wrong passwords
	// typed elsewhere do not lock the user out here.
	if !s.auth.allowAccount(now, ip, email) {
		tooMany(email)
		return
	}
	u, err := s.Accounts.Authenticate(r.Context(), email, pw)
	if errors.Is(err, accounts.ErrWrongPassword) {
		s.logger().Info("sign-in failed", "email", aftercare.MaskEmail(email), "remote", ip)
		page.Error = "The email or the password is wrong."
		s.render(w, r, http.StatusUnauthorized, "signin", "Sign in", page)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger().Info("signed in", "user", u.ID, "clinic", u.ClinicID)
	http.Redirect(w, r, page.Next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if p := principal(r); p != nil && p.Session != nil {
		if !validCSRF(r) {
			s.fail(w, r, aftercare.Errorf(aftercare.EFORBIDDEN, "the form has expired; reload the page and try again"))
			return
		}
		if err := s.Accounts.SignOut(r.Context(), p.Session); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) linkForm(w http.ResponseWriter, r *http.Request) {
	// GET does not use the link up: mail scanners open links.
	s.render(w, r, http.StatusOK, "link", "Choose a password", LinkPage{Secret: r.PathValue("secret")})
}

func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	secret := r.PathValue("secret")
	page := LinkPage{Secret: secret, Field: map[string]string{}}
	u, err := s.Accounts.SetPassword(r.Context(), secret, r.PostFormValue("password"), r.PostFormValue("confirm"))
	switch {
	case errors.Is(err, accounts.ErrLinkUsed):
		page.Error = "This link has expired or was already used. Ask your clinic's admin for a new one."
		s.render(w, r, http.StatusGone, "link", "Choose a password", page)
		return
	case errors.Is(err, accounts.ErrDisabled):
		page.Error = "This account is disabled. Ask your clinic's admin to turn it back on."
		s.render(w, r, http.StatusForbidden, "link", "Choose a password", page)
		return
	case aftercare.InputError(err):
		var ae *aftercare.Error
		if errors.As(err, &ae) && ae.Field != "" {
			page.Field[ae.Field] = ae.Message
		} else {
			page.Error = aftercare.ErrorMessage(err)
		}
		s.render(w, r, http.StatusBadRequest, "link", "Choose a password", page)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
