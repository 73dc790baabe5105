package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.AccountStore = (*DB)(nil)

// Users.

const userColumns = `id, clinic_id, email, name, role, password_hash, created_at, updated_at, disabled_at`

func scanUser(s scanner) (*aftercare.User, error) {
	var u aftercare.User
	err := s.Scan(&u.ID, &u.ClinicID, &u.Email, &u.Name, &u.Role, &u.PasswordHash,
		(*dbTime)(&u.CreatedAt), (*dbTime)(&u.UpdatedAt), (*dbTime)(&u.DisabledAt))
	if err != nil {
		return nil, err
	}
	return &u, nil
}

const insertUser = `INSERT INTO users (clinic_id, email, name, role, password_hash, created_at, updated_at, disabled_at)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`

// CreateUser stores u with its email lower-cased and sets its ID, CreatedAt
// and UpdatedAt. It returns EINVALID for a user without clinic or email or
// with an unknown role, ENOTFOUND when the clinic does not exist and
// ECONFLICT when any clinic has a user with that email.
func (db *DB) CreateUser(ctx context.Context, u *aftercare.User) error {
	if err := check.User(u); err != nil {
		return err
	}
	email, name, now := check.NormEmail(u.Email), strings.TrimSpace(u.Name), db.now()
	var id int64
	err := db.pool.QueryRow(ctx, insertUser, u.ClinicID, email, name, string(u.Role),
		u.PasswordHash, now, ts(u.DisabledAt)).Scan(&id)
	if err != nil {
		return dbError("create user", err)
	}
	u.ID, u.Email, u.Name = id, email, name
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = now, now, norm(u.DisabledAt)
	return nil
}

const (
	findUser        = `SELECT ` + userColumns + ` FROM users WHERE clinic_id = $1 AND id = $2`
	findUserByEmail = `SELECT ` + userColumns + ` FROM users WHERE email = $1`
)

// FindUser returns the clinic's user with that id. It returns ENOTFOUND
// when the clinic has no such user.
func (db *DB) FindUser(ctx context.Context, clinicID, id int64) (*aftercare.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, findUser, clinicID, id))
	return found(u, err, "find user", "no user %d in this clinic", id)
}

// FindUserByEmail returns the user with that email (compared lower-cased),
// whatever the clinic. It returns ENOTFOUND when there is none.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*aftercare.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, findUserByEmail, check.NormEmail(email)))
	return found(u, err, "find user", "no user has the email %s", check.NormEmail(email))
}

// listUsers orders by byte (COLLATE "C"), as SQLite does.
const listUsers = `SELECT ` + userColumns + ` FROM users WHERE clinic_id = $1 ORDER BY email COLLATE "C"`

// ListUsers returns the clinic's users, disabled ones included, ordered by
// email. It returns only internal errors.
func (db *DB) ListUsers(ctx context.Context, clinicID int64) ([]*aftercare.User, error) {
	us, err := queryAll(ctx, db.pool, scanUser, listUsers, clinicID)
	return us, dbError("list users", err)
}

const (
	updateUser = `UPDATE users SET name = $1, role = $2, password_hash = $3, disabled_at = $4, updated_at = $5
WHERE clinic_id = $6 AND id = $7
RETURNING email, created_at`
	// userBefore locks the user: two updates of one user go one after
	// the other.
	userBefore = `SELECT email, role, disabled_at IS NULL, password_hash FROM users WHERE clinic_id = $1 AND id = $2 FOR UPDATE`
	// lockAdmins locks the clinic's active admins, so that two admins
	// demoting each other at once cannot both see the other still admin.
	lockAdmins = `SELECT id FROM users WHERE clinic_id = $1 AND role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE`
	// otherAdmins counts the clinic's active admins besides one user.
	otherAdmins = `SELECT count(*) FROM users WHERE clinic_id = $1 AND id <> $2 AND role = 'admin' AND disabled_at IS NULL`
)

// UpdateUser saves u's Name, Role, PasswordHash and DisabledAt (u is found
// by ClinicID and ID) and sets UpdatedAt, and Email and CreatedAt from the
// stored row: the email of a user does not change. A new PasswordHash
// cancels the user's outstanding sign-in links. It returns EINVALID for an
// unknown role, ENOTFOUND when the clinic has no such user, and ECONFLICT
// when the change would leave the clinic with no active admin (checked in
// the same transaction with the clinic's admins locked, so two admins
// demoting each other at once cannot both succeed).
func (db *DB) UpdateUser(ctx context.Context, u *aftercare.User) error {
	if u == nil {
		return invalid("no user given")
	}
	if _, err := aftercare.ParseRole(string(u.Role)); err != nil {
		return err
	}
	now := db.now()
	var email string
	var created dbTime
	err := db.write(ctx, "update user", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockAdmins, u.ClinicID); err != nil {
			return err
		}
		var stored, role, oldHash string
		var active bool
		err := tx.QueryRow(ctx, userBefore, u.ClinicID, u.ID).Scan(&stored, &role, &active, &oldHash)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("no user %d in this clinic", u.ID)
		}
		if err != nil {
			return err
		}
		if role == string(aftercare.RoleAdmin) && active && (u.Role != aftercare.RoleAdmin || !u.Active()) {
			var n int
			if err := tx.QueryRow(ctx, otherAdmins, u.ClinicID, u.ID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return conflict("%s is the clinic's only active admin: make someone else an admin first, or nobody could change its settings, users or tokens", stored)
			}
		}
		if err := tx.QueryRow(ctx, updateUser, strings.TrimSpace(u.Name), string(u.Role), u.PasswordHash,
			ts(u.DisabledAt), now, u.ClinicID, u.ID).Scan(&email, &created); err != nil {
			return err
		}
		if u.PasswordHash != oldHash {
			_, err = tx.Exec(ctx, cancelLinks, now, u.ClinicID, u.ID, "")
		}
		return err
	})
	if err != nil {
		return err
	}
	u.Email, u.Name, u.CreatedAt, u.UpdatedAt, u.DisabledAt = email, strings.TrimSpace(u.Name), timeOf(created), now, norm(u.DisabledAt)
	return nil
}

const countUsers = `SELECT count(*) FROM users`

// CountUsers counts the users of every clinic, disabled ones included. It
// returns only internal errors.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, countUsers).Scan(&n); err != nil {
		return 0, dbError("count users", err)
	}
	return n, nil
}

const (
	purgeSessions = `DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $2`
	purgeLinks    = `DELETE FROM signin_links WHERE used_at IS NOT NULL OR expires_at <= $1`
)

// PurgeSignIns deletes the sessions that expired at or before now or were
// created at or before createdBefore (their whole lifetime is over), and
// the sign-in links that were used or have expired (cancelled ones too).
// It returns how many rows went, and only internal errors.
func (db *DB) PurgeSignIns(ctx context.Context, now, createdBefore time.Time) (int64, error) {
	now = db.stamp(now)
	var n int64
	err := db.write(ctx, "purge sign-ins", func(tx pgx.Tx) error {
		n = 0
		tag, err := tx.Exec(ctx, purgeSessions, now, norm(createdBefore))
		if err != nil {
			return err
		}
		n += tag.RowsAffected()
		tag, err = tx.Exec(ctx, purgeLinks, now)
		n += tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
