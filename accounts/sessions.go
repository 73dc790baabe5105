package accounts

import (
	"context"

	"github.com/aftercare/aftercare"
)

// ErrSessionEnded is the answer for a session that is unknown, expired, or
// whose user is gone or disabled (EUNAUTHORIZED): sign in again.
var ErrSessionEnded = aftercare.Errorf(aftercare.EUNAUTHORIZED, "your session has ended; sign in again")

// StartSession signs u in: a new session, and the secret its cookie holds
// (only the secret's hash is stored).
func (s *Service) StartSession(ctx context.Context, u *aftercare.User) (string, *aftercare.Session, error) {
	secret, hash, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	csrf, _, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess := &aftercare.Session{Hash: hash, UserID: u.ID, ClinicID: u.ClinicID, CSRF: csrf,
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(SessionIdle)}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// Session returns the live session whose cookie holds secret, and its user,
// moving its idle expiry forward (at most every TouchEvery). A session
// past its idle expiry or its lifetime, or of a user gone or disabled, is
// deleted: ErrSessionEnded.
func (s *Service) Session(ctx context.Context, secret string) (*aftercare.Session, *aftercare.User, error) {
	hash := HashSecret(secret)
	sess, err := s.Store.FindSession(ctx, hash)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return nil, nil, ErrSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.CreatedAt) >= SessionLifetime {
		return nil, nil, s.endSession(ctx, hash)
	}
	u, err := s.Store.FindUser(ctx, sess.ClinicID, sess.UserID)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND || (err == nil && !u.Active()) {
		return nil, nil, s.endSession(ctx, hash)
	}
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.SeenAt) >= TouchEvery {
		sess.SeenAt, sess.ExpiresAt = now, now.Add(SessionIdle)
		// The request goes on: the worst a missed touch does is end the
		// session a minute early.
		if err := s.Store.TouchSession(ctx, hash, sess.SeenAt, sess.ExpiresAt); err != nil {
			s.logger().Warn("touching a session", "err", err)
		}
	}
	return sess, u, nil
}

// endSession deletes a session that can no longer sign anyone in and
// returns ErrSessionEnded. A failed delete is logged, not returned: the
// session is refused either way, and PurgeSignIns deletes it later.
func (s *Service) endSession(ctx context.Context, hash string) error {
	if err := s.Store.DeleteSession(ctx, hash); err != nil {
		s.logger().Warn("deleting an ended session", "err", err)
	}
	return ErrSessionEnded
}

// SignOut deletes the session with that hash; a missing one is not an error.
func (s *Service) SignOut(ctx context.Context, sess *aftercare.Session) error {
	return s.Store.DeleteSession(ctx, sess.Hash)
}

// PurgeSignIns deletes what can no longer sign anyone in: sessions past
// their idle expiry or their whole lifetime, and used, expired or cancelled
// links, and returns how many rows went. serve runs it hourly.
func (s *Service) PurgeSignIns(ctx context.Context) (int64, error) {
	now := s.now()
	return s.Store.PurgeSignIns(ctx, now, now.Add(-SessionLifetime))
}
