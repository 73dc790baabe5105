package accounts

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
)

// AddUser stores a new user u of u.ClinicID; with a password, it is
// checked and hashed first, without one the user chooses it through a
// sign-in link (CreateLink). EINVALID (field "password"); ECONFLICT when
// the email signs in already, here or in another clinic (an email signs in
// to one clinic only).
func (s *Service) AddUser(ctx context.Context, u *aftercare.User, password string) error {
	if password != "" {
		hash, err := s.HashPassword(password)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	}
	return s.Store.CreateUser(ctx, u)
}

// FirstAdmin gives a database without users its first admin: a user named
// "Admin" of the default clinic with that email, and a one-time link
// (path, as CreateLink) to choose the password. It returns a nil user when
// there are users already, or when another process made the first admin
// at the same moment (and has its link). EINVALID (field "email") when the
// email is not one.
func (s *Service) FirstAdmin(ctx context.Context, email string) (*aftercare.User, *aftercare.Clinic, string, error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return nil, nil, "", err
	}
	email, err = aftercare.NormalizeEmail(email)
	if err == nil && email == "" {
		err = aftercare.FieldErrorf("email", "it is empty")
	}
	if err != nil {
		return nil, nil, "", err
	}
	clinic, err := s.Store.FindClinic(ctx, "")
	if err != nil {
		return nil, nil, "", err
	}
	u := &aftercare.User{ClinicID: clinic.ID, Email: email, Name: "Admin", Role: aftercare.RoleAdmin}
	err = s.Store.CreateUser(ctx, u)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	path, _, err := s.CreateLink(ctx, u)
	if err != nil {
		return nil, nil, "", err
	}
	return u, clinic, path, nil
}

// ErrLastAdmin refuses a change that would leave the clinic without an
// active admin, and so nobody to change its settings, users or tokens
// (ECONFLICT). Callers say what to do instead in their own words.
var ErrLastAdmin = aftercare.Errorf(aftercare.ECONFLICT, "the clinic's only active admin cannot be demoted or disabled: make someone else an admin first")

// lastAdmin reports whether u is the clinic's only active admin. The store
// checks again in UpdateUser's transaction (another admin may be demoting
// us at this very moment); this check answers the common case without a
// write.
func (s *Service) lastAdmin(ctx context.Context, u *aftercare.User) (bool, error) {
	if u.Role != aftercare.RoleAdmin || !u.Active() {
		return false, nil
	}
	users, err := s.Store.ListUsers(ctx, u.ClinicID)
	if err != nil {
		return false, err
	}
	for _, x := range users {
		if x.ID != u.ID && x.Active() && x.Role == aftercare.RoleAdmin {
			return false, nil
		}
	}
	return true, nil
}

// update saves the change made by change to a copy of u, and copies it
// back only when it is stored. ErrLastAdmin.
func (s *Service) update(ctx context.Context, u *aftercare.User, change func(v *aftercare.User)) error {
	last, err := s.lastAdmin(ctx, u)
	if err != nil {
		return err
	}
	v := *u
	change(&v)
	if last && (v.Role != aftercare.RoleAdmin || !v.Active()) {
		return ErrLastAdmin
	}
	err = s.Store.UpdateUser(ctx, &v)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		return ErrLastAdmin
	}
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// SetRole gives u a new role and signs them out everywhere, unless u is
// by, the user making the change (the role is read on every request, so
// their own session goes on with the new one). It reports whether anything
// changed. EINVALID (field "role"), ErrLastAdmin, ENOTFOUND.
func (s *Service) SetRole(ctx context.Context, u *aftercare.User, role aftercare.Role, by int64) (bool, error) {
	if _, err := aftercare.ParseRole(string(role)); err != nil {
		return false, err
	}
	if role == u.Role {
		return false, nil
	}
	if err := s.update(ctx, u, func(v *aftercare.User) { v.Role = role }); err != nil {
		return false, err
	}
	if u.ID != by {
		if err := s.Store.DeleteUserSessions(ctx, u.ClinicID, u.ID); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Disable stops u from signing in and signs them out everywhere, even
// when they were disabled already (signing out costs nothing and leaves no
// doubt). It reports whether u was active. ErrLastAdmin, ENOTFOUND.
func (s *Service) Disable(ctx context.Context, u *aftercare.User) (bool, error) {
	changed := u.Active()
	if changed {
		at := s.now()
		if err := s.update(ctx, u, func(v *aftercare.User) { v.DisabledAt = at }); err != nil {
			return false, err
		}
	}
	if err := s.Store.DeleteUserSessions(ctx, u.ClinicID, u.ID); err != nil {
		return changed, err
	}
	return changed, nil
}

// Enable lets a disabled user sign in again with their password. Sessions
// left from before they were disabled stay ended. It reports whether u was
// disabled. ENOTFOUND.
func (s *Service) Enable(ctx context.Context, u *aftercare.User) (bool, error) {
	if u.Active() {
		return false, nil
	}
	if err := s.update(ctx, u, func(v *aftercare.User) { v.DisabledAt = time.Time{} }); err != nil {
		return false, err
	}
	if err := s.Store.DeleteUserSessions(ctx, u.ClinicID, u.ID); err != nil {
		return true, err
	}
	return true, nil
}
