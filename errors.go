package aftercare

import (
	"errors"
	"fmt"
)

// Error codes. Adapters translate their own failures into these (a UNIQUE
// violation becomes ECONFLICT); only the web layer maps them to HTTP statuses.
const (
	EINVALID = "invalid" // the caller sent something wrong; Message says what to fix
	// EUNPROCESSABLE: every field is well formed, but together they ask for
	// something that cannot be done (an enrollment that would send
	// nothing). Message says what to change; Field names the input.
	EUNPROCESSABLE = "unprocessable"
	ENOTFOUND      = "not_found"    // the thing named does not exist (in this clinic)
	ECONFLICT      = "conflict"     // the request clashes with what is stored
	EUNAUTHORIZED  = "unauthorized" // no valid credentials
	EFORBIDDEN     = "forbidden"    // valid credentials, but not allowed
	EINTERNAL      = "internal"     // a bug or an outage; details are logged, not shown
)

// Error is the application error. Message is written for the person who has
// to fix the input (the front desk, a clinic admin), Field names the input
// at fault when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error that names the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// InputError reports whether err is the user's to fix by changing what
// they gave (EINVALID or EUNPROCESSABLE).
func InputError(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, EUNPROCESSABLE:
		return true
	}
	return false
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, "" for nil,
// and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of err if it is an *Error, and a
// generic text otherwise so that internal details never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}
