package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

// Signing in: sessions, API tokens and sign-in links, the credentials of
// the users in accounts.go.

// Sessions.

const sessionColumns = `hash, user_id, clinic_id, csrf, created_at, seen_at, expires_at`

func scanSession(s scanner) (*aftercare.Session, error) {
	var x aftercare.Session
	err := s.Scan(&x.Hash, &x.UserID, &x.ClinicID, &x.CSRF, (*dbTime)(&x.CreatedAt), (*dbTime)(&x.SeenAt), (*dbTime)(&x.ExpiresAt))
	if err != nil {
		return nil, err
	}
	return &x, nil
}

const insertSession = `INSERT INTO sessions (hash, user_id, clinic_id, csrf, created_at, seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

// CreateSession stores s; CreatedAt defaults to the current time and SeenAt
// to CreatedAt, and s holds its times as stored. It returns EINVALID for a
// session without hash, user or expiry, ENOTFOUND when the user is not one
// of s.ClinicID's, and ECONFLICT when the hash exists.
func (db *DB) CreateSession(ctx context.Context, s *aftercare.Session) error {
	switch {
	case s == nil:
		return invalid("no session given")
	case s.Hash == "":
		return invalid("the session has no hash")
	case s.UserID == 0 || s.ClinicID == 0:
		return invalid("the session has no user")
	case s.ExpiresAt.IsZero():
		return invalid("the session has no expiry")
	}
	created := db.stamp(s.CreatedAt)
	seen := norm(s.SeenAt)
	if seen.IsZero() {
		seen = created
	}
	expires := norm(s.ExpiresAt)
	if _, err := db.pool.Exec(ctx, insertSession, s.Hash, s.UserID, s.ClinicID, s.CSRF, created, seen, expires); err != nil {
		return dbError("create session", err)
	}
	s.CreatedAt, s.SeenAt, s.ExpiresAt = created, seen, expires
	return nil
}

const findSession = `SELECT ` + sessionColumns + ` FROM sessions WHERE hash = $1`

// FindSession returns the session with that hash, expired or not: expiry is
// the caller's to check. It returns ENOTFOUND when there is none.
func (db *DB) FindSession(ctx context.Context, hash string) (*aftercare.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, findSession, hash))
	return found(s, err, "find session", "no such session")
}

const touchSession = `UPDATE sessions SET seen_at = $1, expires_at = $2 WHERE hash = $3`

// TouchSession sets a session's SeenAt and ExpiresAt. It returns ENOTFOUND
// when there is no session with that hash (it was signed out meanwhile).
func (db *DB) TouchSession(ctx context.Context, hash string, seen, expires time.Time) error {
	tag, err := db.pool.Exec(ctx, touchSession, db.stamp(seen), norm(expires), hash)
	return dbError("touch session", oneRow(tag, err, notFound("no such session")))
}

const deleteSession = `DELETE FROM sessions WHERE hash = $1`

// DeleteSession signs a session out. Deleting a session that does not exist
// is not an error.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := db.pool.Exec(ctx, deleteSession, hash)
	return dbError("delete session", err)
}

const (
	userExists         = `SELECT count(*) FROM users WHERE clinic_id = $1 AND id = $2`
	deleteUserSessions = `DELETE FROM sessions WHERE clinic_id = $1 AND user_id = $2`
)

// DeleteUserSessions signs the clinic's user out of every browser. It
// returns ENOTFOUND when the clinic has no such user.
func (db *DB) DeleteUserSessions(ctx context.Context, clinicID, userID int64) error {
	return db.write(ctx, "delete user sessions", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, userExists, clinicID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("no user %d in this clinic", userID)
		}
		_, err := tx.Exec(ctx, deleteUserSessions, clinicID, userID)
		return err
	})
}

// API tokens.

const tokenColumns = `id, clinic_id, name, role, hash, prefix, created_by, created_at, last_used_at, revoked_at`

func scanToken(s scanner) (*aftercare.Token, error) {
	var t aftercare.Token
	err := s.Scan(&t.ID, &t.ClinicID, &t.Name, &t.Role, &t.Hash, &t.Prefix, &t.CreatedBy,
		(*dbTime)(&t.CreatedAt), (*dbTime)(&t.LastUsedAt), (*dbTime)(&t.RevokedAt))
	if err != nil {
		return nil, err
	}
	return &t, nil
}

const insertToken = `INSERT INTO tokens (clinic_id, name, role, hash, prefix, created_by, created_at, last_used_at, revoked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`

// CreateToken stores t and sets its ID and CreatedAt (the current time
// unless given). It returns EINVALID for a token without clinic, name or
// hash or with an unknown role, ENOTFOUND when the clinic does not exist and
// ECONFLICT when a token has that hash.
func (db *DB) CreateToken(ctx context.Context, t *aftercare.Token) error {
	switch {
	case t == nil:
		return invalid("no token given")
	case t.ClinicID == 0:
		return invalid("the token has no clinic")
	case strings.TrimSpace(t.Name) == "":
		return aftercare.FieldErrorf("name", "give the token a name that says what it is for")
	case t.Hash == "":
		return invalid("the token has no hash")
	}
	if _, err := aftercare.ParseRole(string(t.Role)); err != nil {
		return err
	}
	created := db.stamp(t.CreatedAt)
	var id int64
	err := db.pool.QueryRow(ctx, insertToken, t.ClinicID, strings.TrimSpace(t.Name), string(t.Role), t.Hash, t.Prefix,
		t.CreatedBy, created, ts(t.LastUsedAt), ts(t.RevokedAt)).Scan(&id)
	if err != nil {
		return dbError("create token", err)
	}
	t.ID, t.Name, t.CreatedAt = id, strings.TrimSpace(t.Name), created
	t.LastUsedAt, t.RevokedAt = norm(t.LastUsedAt), norm(t.RevokedAt)
	return nil
}

const findToken = `SELECT ` + tokenColumns + ` FROM tokens WHERE hash = $1`

// FindToken returns the token with that hash, revoked or not. It returns
// ENOTFOUND when there is none.
func (db *DB) FindToken(ctx context.Context, hash string) (*aftercare.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, findToken, hash))
	return found(t, err, "find token", "no such API token")
}

const listTokens = `SELECT ` + tokenColumns + ` FROM tokens WHERE clinic_id = $1 ORDER BY id DESC`

// ListTokens returns the clinic's tokens, revoked ones included, newest
// first. It returns only internal errors.
func (db *DB) ListTokens(ctx context.Context, clinicID int64) ([]*aftercare.Token, error) {
	out, err := queryAll(ctx, db.pool, scanToken, listTokens, clinicID)
	return out, dbError("list tokens", err)
}

// revokeToken keeps the first revocation time.
const revokeToken = `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE clinic_id = $2 AND id = $3`

// RevokeToken revokes the clinic's token id at at (the current time when
// zero). Revoking a revoked token keeps its first revocation time. It
// returns ENOTFOUND when the clinic has no such token.
func (db *DB) RevokeToken(ctx context.Context, clinicID, id int64, at time.Time) error {
	tag, err := db.pool.Exec(ctx, revokeToken, db.stamp(at), clinicID, id)
	return dbError("revoke token", oneRow(tag, err, notFound("no API token %d in this clinic", id)))
}

// touchToken never moves LastUsedAt back: requests finish out of order.
const touchToken = `UPDATE tokens SET last_used_at = $1
WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`

// TouchToken records that token id was used at at (the current time when
// zero); an earlier time than the one recorded changes nothing. It returns
// only internal errors: a token deleted meanwhile has nothing to record.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := db.pool.Exec(ctx, touchToken, db.stamp(at), id)
	return dbError("touch token", err)
}

// Sign-in links.

const linkColumns = `hash, user_id, clinic_id, created_at, expires_at, used_at`

func scanLink(s scanner) (*aftercare.SignInLink, error) {
	var l aftercare.SignInLink
	err := s.Scan(&l.Hash, &l.UserID, &l.ClinicID, (*dbTime)(&l.CreatedAt), (*dbTime)(&l.ExpiresAt), (*dbTime)(&l.UsedAt))
	if err != nil {
		return nil, err
	}
	return &l, nil
}

const insertLink = `INSERT INTO signin_links (hash, user_id, clinic_id, created_at, expires_at, used_at)
VALUES ($1, $2, $3, $4, $5, NULL)`

// cancelLinks ends a user's unused links, all but one ($4), by moving
// their expiry to now ($1): a cancelled link reads as expired.
const cancelLinks = `UPDATE signin_links SET expires_at = $1
WHERE clinic_id = $2 AND user_id = $3 AND hash <> $4 AND used_at IS NULL AND expires_at > $1`

// CreateLink stores a one-time sign-in link, unused, and cancels the user's
// other unused links; CreatedAt defaults to the current time and l holds
// its times as stored. It returns EINVALID for a link without hash, user or
// expiry, ENOTFOUND when the user is not one of l.ClinicID's and ECONFLICT
// when the hash exists.
func (db *DB) CreateLink(ctx context.Context, l *aftercare.SignInLink) error {
	switch {
	case l == nil:
		return invalid("no link given")
	case l.Hash == "":
		return invalid("the link has no hash")
	case l.UserID == 0 || l.ClinicID == 0:
		return invalid("the link has no user")
	case l.ExpiresAt.IsZero():
		return invalid("the link has no expiry")
	}
	created, expires := db.stamp(l.CreatedAt), norm(l.ExpiresAt)
	err := db.write(ctx, "create link", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertLink, l.Hash, l.UserID, l.ClinicID, created, expires); err != nil {
			return err
		}
		// Only the newest link works: an older one may have gone astray.
		_, err := tx.Exec(ctx, cancelLinks, created, l.ClinicID, l.UserID, l.Hash)
		return err
	})
	if err != nil {
		return err
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = created, expires, time.Time{}
	return nil
}

// useLink is the whole of UseLink: one statement marks the link used only
// if it is unused and unexpired, so two requests racing with the same link
// cannot both succeed (the second waits for the first's row lock, then
// re-reads the row and finds it used).
const useLink = `UPDATE signin_links SET used_at = $1
WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
RETURNING ` + linkColumns

// UseLink marks the link with that hash used at at (the current time when
// zero) and returns it. It returns ENOTFOUND when there is no such link,
// when it was used already, or when it expired at or before at.
func (db *DB) UseLink(ctx context.Context, hash string, at time.Time) (*aftercare.SignInLink, error) {
	l, err := scanLink(db.pool.QueryRow(ctx, useLink, db.stamp(at), hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("the sign-in link does not exist, was used already or has expired")
	}
	if err != nil {
		return nil, dbError("use link", err)
	}
	return l, nil
}
