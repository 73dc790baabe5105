package web

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// routesManager mounts the practice manager's pages and the admin's.
//
// Manager: the delivery log (ui_mgr_log.go: /log, /log.csv, /log/{id},
// /stats, /attention), protocols (ui_mgr_protocols.go) and the users list.
// Admin: changes to users, API tokens and clinic settings
// (ui_mgr_admin.go). Every handler reads and writes only the signed-in
// user's clinic: an id of another clinic's row is "not found".
func (s *Server) routesManager(mux *http.ServeMux) {
	manager, admin := aftercare.RoleManager, aftercare.RoleAdmin
	mux.HandleFunc("GET /log", s.page(manager, s.logPage))
	mux.HandleFunc("GET /log.csv", s.page(manager, s.logCSV))
	mux.HandleFunc("GET /log/{id}", s.page(manager, s.messagePage))
	mux.HandleFunc("GET /stats", s.page(manager, s.statsPage))
	mux.HandleFunc("GET /attention", s.page(manager, s.attentionPage))
	mux.HandleFunc("GET /audit", s.page(manager, s.auditPage))

	mux.HandleFunc("GET /protocols", s.page(manager, s.protocolsPage))
	mux.HandleFunc("GET /help/protocols", s.page(aftercare.RoleFrontDesk, s.helpProtocols))
	mux.HandleFunc("POST /protocols", s.page(manager, s.protocolCreate))
	mux.HandleFunc("GET /protocols/new", s.page(manager, s.protocolNewForm))
	mux.HandleFunc("GET /protocols/{slug}", s.page(manager, s.protocolPage))
	mux.HandleFunc("GET /protocols/{slug}/edit", s.page(manager, s.protocolEditForm))
	mux.HandleFunc("POST /protocols/{slug}/edit", s.page(manager, s.protocolSave))

	mux.HandleFunc("GET /users", s.page(manager, s.usersPage))
	mux.HandleFunc("POST /users", s.page(admin, s.userCreate))
	mux.HandleFunc("POST /users/{id}", s.page(admin, s.userChange))
	mux.HandleFunc("GET /tokens", s.page(admin, s.tokensPage))
	mux.HandleFunc("POST /tokens", s.page(admin, s.tokenCreate))
	mux.HandleFunc("POST /tokens/{id}/revoke", s.page(admin, s.tokenRevoke))
	mux.HandleFunc("GET /settings", s.page(admin, s.settingsPage))
	mux.HandleFunc("POST /settings", s.page(admin, s.settingsSave))
}

// formLevel moves errors of fields a form does not show to the form as a
// whole (""), so that no problem goes unseen.
func formLevel(fe FieldErrors, shown ...string) {
	for k, v := range fe {
		if k != "" && !slices.Contains(shown, k) {
			delete(fe, k)
			if old := fe[""]; old != "" {
				v = old + " " + v
			}
			fe[""] = v
		}
	}
}

// encodeCursor makes the opaque "after" of a page link from the last row
// shown: its send time and id. The next page starts strictly after that
// pair (keyset pagination), so a deep page costs what the first one does.
func encodeCursor(at time.Time, id int64) string {
	raw := strconv.FormatInt(at.UnixMilli(), 10) + "." + strconv.FormatInt(id, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a cursor made by encodeCursor; EINVALID when it was
// not.
func decodeCursor(s string) (time.Time, int64, error) {
	bad := aftercare.Errorf(aftercare.EINVALID, "the page link is damaged: go back to the first page of the list")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, 0, bad
	}
	a, b, ok := strings.Cut(string(raw), ".")
	if !ok {
		return time.Time{}, 0, bad
	}
	ms, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || ms < 0 {
		return time.Time{}, 0, bad
	}
	return time.UnixMilli(ms).UTC(), id, nil
}

// Formats of times shown to staff, in the clinic's zone.
const (
	whenLayout = "2 Jan 2006 15:04"
	dayLayout  = "2 Jan 2006"
)

// mgrTime formats t in loc ("" for the zero time).
func mgrTime(t time.Time, loc *time.Location, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(layout)
}

// linkBase is where links given to people point: the configured public URL,
// or the address this request came to.
func (s *Server) linkBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || s.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
