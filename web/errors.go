package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/aftercare/aftercare"
)

// fail answers err, and is the only way web answers an error (as wtf's
// http.Error): JSON, {"error": {code, message, field}}, for the API, the
// webhooks and any client that asks for it; the app's error page
// otherwise. The status is statusOf the error's code, or an
// apiStatusError's own. Internal errors are logged here, with the request,
// and never shown: the person sees a generic message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := aftercare.ErrorCode(err)
	if code == aftercare.EINTERNAL {
		s.logger().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if !wantsJSON(r) {
		s.renderError(w, r, err)
		return
	}
	body := ErrorDetailJSON{Code: code, Message: aftercare.ErrorMessage(err)}
	var ae *aftercare.Error
	if code != aftercare.EINTERNAL && errors.As(err, &ae) {
		body.Field, body.Message = ae.Field, ae.Message
	}
	status := statusOf(code)
	var se *apiStatusError
	if errors.As(err, &se) {
		status, body.Problems = se.Status, se.Problems
	}
	writeJSON(w, status, ErrorJSON{body})
}

// wantsJSON reports whether an error is answered in JSON: on the API's
// and the webhooks' routes, to a client whose Accept asks for JSON, and to
// a program whose Authorization header was refused before any route was
// reached. Everything else is a page of the app, in a browser.
func wantsJSON(r *http.Request) bool {
	path := r.URL.Path
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/twilio/") ||
		strings.Contains(r.Header.Get("Accept"), "application/json") ||
		(r.Header.Get("Authorization") != "" && principal(r) == nil)
}

// statusOf maps error codes to HTTP statuses; only this package does.
func statusOf(code string) int {
	switch code {
	case aftercare.EINVALID:
		return http.StatusBadRequest
	case aftercare.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case aftercare.ENOTFOUND:
		return http.StatusNotFound
	case aftercare.ECONFLICT:
		return http.StatusConflict
	case aftercare.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case aftercare.EFORBIDDEN:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}
