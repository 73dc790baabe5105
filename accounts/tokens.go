package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// CreateToken makes an API token for a clinic and returns the secret, which
// is shown once and never stored. by is who made it ("cli" or an admin's
// email). EINVALID names the field at fault (name, role).
func (s *Service) CreateToken(ctx context.Context, clinicID int64, name string, role aftercare.Role, by string) (string, *aftercare.Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", nil, aftercare.FieldErrorf("name", "give the token a name that says what it is for, e.g. \"EHR integration\"")
	}
	if _, err := aftercare.ParseRole(string(role)); err != nil {
		return "", nil, err
	}
	secret, _, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	secret = TokenPrefix + secret
	t := &aftercare.Token{ClinicID: clinicID, Name: strings.TrimSpace(name), Role: role,
		Hash: HashSecret(secret), Prefix: secret[:len(TokenPrefix)+6], CreatedBy: by}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// UseToken returns the live token whose secret is given and records its
// use (at most every TouchEvery). EUNAUTHORIZED when it is unknown or
// revoked.
func (s *Service) UseToken(ctx context.Context, secret string) (*aftercare.Token, error) {
	t, err := s.Store.FindToken(ctx, HashSecret(strings.TrimSpace(secret)))
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND || (err == nil && !t.RevokedAt.IsZero()) {
		return nil, aftercare.Errorf(aftercare.EUNAUTHORIZED, "the API token is unknown or revoked")
	}
	if err != nil {
		return nil, err
	}
	if now := s.now(); now.Sub(t.LastUsedAt) >= TouchEvery {
		// The request goes on: a missed "last used" is not worth refusing it.
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			s.logger().Warn("recording token use", "token", t.ID, "err", err)
		}
	}
	return t, nil
}

// CreateLink makes a one-time sign-in link for u and returns its path
// ("/link/SECRET", the caller prefixes the public URL) and expiry. The
// store cancels u's older links: only the newest works.
func (s *Service) CreateLink(ctx context.Context, u *aftercare.User) (path string, expires time.Time, err error) {
	secret, hash, err := s.newSecret()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	l := &aftercare.SignInLink{Hash: hash, UserID: u.ID, ClinicID: u.ClinicID, CreatedAt: now, ExpiresAt: now.Add(LinkLifetime)}
	if err := s.Store.CreateLink(ctx, l); err != nil {
		return "", time.Time{}, err
	}
	return "/link/" + secret, l.ExpiresAt, nil
}

// Errors of SetPassword that are about the link, not the password.
var (
	// ErrLinkUsed: the link does not exist, was used, was cancelled by a
	// newer one, or expired (ENOTFOUND).
	ErrLinkUsed = aftercare.Errorf(aftercare.ENOTFOUND, "this link has expired or was already used")
	// ErrDisabled: the link's user is disabled (EFORBIDDEN).
	ErrDisabled = aftercare.Errorf(aftercare.EFORBIDDEN, "this account is disabled")
)

// SetPassword uses the one-time link with that secret to set its user's
// password (typed twice: pw and confirm), and signs the user out of every
// browser. The password is checked before the link is used up. EINVALID
// (field "password" or "confirm"), ErrLinkUsed, ErrDisabled.
func (s *Service) SetPassword(ctx context.Context, secret, pw, confirm string) (*aftercare.User, error) {
	hash, err := s.HashPassword(pw)
	if err == nil && pw != confirm {
		err = aftercare.FieldErrorf("confirm", "the two passwords are not the same")
	}
	if err != nil {
		return nil, err
	}
	l, err := s.Store.UseLink(ctx, HashSecret(secret), s.now())
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return nil, ErrLinkUsed
	}
	if err != nil {
		return nil, err
	}
	u, err := s.Store.FindUser(ctx, l.ClinicID, l.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, ErrDisabled
	}
	u.PasswordHash = hash
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	// A new password signs every other browser out.
	if err := s.Store.DeleteUserSessions(ctx, u.ClinicID, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}
