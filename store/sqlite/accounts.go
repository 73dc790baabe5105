package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

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
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateUser stores u with its email lower-cased and sets its ID, CreatedAt
// and UpdatedAt. It returns EINVALID for a user without clinic or email or
// with an unknown role, ENOTFOUND when the clinic does not exist and
// ECONFLICT when any clinic has a user with that email.
func (db *DB) CreateUser(ctx context.Context, u *aftercare.User) error {
	if err := check.User(u); err != nil {
		return err
	}
	email, now := check.NormEmail(u.Email), db.now()
	var id int64
	err := db.write(ctx, "create user", func(tx *sqlx.Tx) error {
		var err error
		id, err = execID(ctx, tx, insertUser, u.ClinicID, email, strings.TrimSpace(u.Name), string(u.Role),
			u.PasswordHash, ts(now), ts(now), ts(u.DisabledAt))
		return err
	})
	if err != nil {
		return err
	}
	u.ID, u.Email, u.Name = id, email, strings.TrimSpace(u.Name)
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = now, now, norm(u.DisabledAt)
	return nil
}

const (
	findUser        = `SELECT ` + userColumns + ` FROM users WHERE clinic_id = ? AND id = ?`
	findUserByEmail = `SELECT ` + userColumns + ` FROM users WHERE email = ?`
)

// FindUser returns the clinic's user with that id. It returns ENOTFOUND
// when the clinic has no such user.
func (db *DB) FindUser(ctx context.Context, clinicID, id int64) (*aftercare.User, error) {
	u, err := scanUser(db.reader.QueryRowContext(ctx, findUser, clinicID, id))
	return found(u, err, "find user", "no user %d in this clinic", id)
}

// FindUserByEmail returns the user with that email (compared lower-cased),
// whatever the clinic. It returns ENOTFOUND when there is none.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*aftercare.User, error) {
	u, err := scanUser(db.reader.QueryRowContext(ctx, findUserByEmail, check.NormEmail(email)))
	return found(u, err, "find user", "no user has the email %s", check.NormEmail(email))
}

const listUsers = `SELECT ` + userColumns + ` FROM users WHERE clinic_id = ? ORDER BY email`

// ListUsers returns the clinic's users, disabled ones included, ordered by
// email. It returns only internal errors.
func (db *DB) ListUsers(ctx context.Context, clinicID int64) ([]*aftercare.User, error) {
	us, err := queryAll(ctx, db.reader, scanUser, listUsers, clinicID)
	return us, dbError("list users", err)
}

const (
	updateUser = `UPDATE users SET name = ?, role = ?, password_hash = ?, disabled_at = ?, updated_at = ?
WHERE clinic_id = ? AND id = ?
RETURNING email, created_at`
	userBefore = `SELECT email, role, disabled_at IS NULL, password_hash FROM users WHERE clinic_id = ? AND id = ?`
	// otherAdmins counts the clinic's active admins besides one user.
	otherAdmins = `SELECT COUNT(*) FROM users WHERE clinic_id = ? AND id <> ? AND role = 'admin' AND disabled_at IS NULL`
)

// UpdateUser saves u's Name, Role, PasswordHash and DisabledAt (u is found
// by ClinicID and ID) and sets UpdatedAt, and Email and CreatedAt from the
// stored row: the email of a user does not change. A new PasswordHash
// cancels the user's outstanding sign-in links. It returns EINVALID for an
// unknown role, ENOTFOUND when the clinic has no such user, and ECONFLICT
// when the change would leave the clinic with no active admin (checked in
// the same transaction, so two admins demoting each other at once cannot
// both succeed).
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
	err := db.write(ctx, "update user", func(tx *sqlx.Tx) error {
		var stored, role, oldHash string
		var active bool
		err := tx.QueryRowContext(ctx, userBefore, u.ClinicID, u.ID).Scan(&stored, &role, &active, &oldHash)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no user %d in this clinic", u.ID)
		}
		if err != nil {
			return err
		}
		if role == string(aftercare.RoleAdmin) && active && (u.Role != aftercare.RoleAdmin || !u.Active()) {
			var n int
			if err := tx.GetContext(ctx, &n, otherAdmins, u.ClinicID, u.ID); err != nil {
				return err
			}
			if n == 0 {
				return conflict("%s is the clinic's only active admin: make someone else an admin first, or nobody could change its settings, users or tokens", stored)
			}
		}
		if err := tx.QueryRowContext(ctx, updateUser, strings.TrimSpace(u.Name), string(u.Role), u.PasswordHash,
			ts(u.DisabledAt), ts(now), u.ClinicID, u.ID).Scan(&email, &created); err != nil {
			return err
		}
		if u.PasswordHash != oldHash {
			_, err = tx.ExecContext(ctx, cancelLinks, ts(now), u.ClinicID, u.ID, "")
		}
		return err
	})
	if err != nil {
		return err
	}
	u.Email, u.Name, u.CreatedAt, u.UpdatedAt, u.DisabledAt = email, strings.TrimSpace(u.Name), time.Time(created), now, norm(u.DisabledAt)
	return nil
}

const countUsers = `SELECT COUNT(*) FROM users`

// CountUsers counts the users of every clinic, disabled ones included. It
// returns only internal errors.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.reader.GetContext(ctx, &n, countUsers); err != nil {
		return 0, dbError("count users", err)
	}
	return n, nil
}
