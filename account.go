package aftercare

import (
	"context"
	"time"
)

// Role is what a user or an API token may do. Roles are ordered: each can do
// everything the one before it can.
type Role string

// The roles, weakest first.
const (
	RoleFrontDesk Role = "frontdesk" // enroll, find and change patients, import
	RoleManager   Role = "manager"   // + delivery log, attention list, protocols, users (read)
	RoleAdmin     Role = "admin"     // + clinic settings, users and API tokens
)

// Roles lists the roles weakest first.
var Roles = []Role{RoleFrontDesk, RoleManager, RoleAdmin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// AtLeast reports whether r includes everything min may do. An unknown role
// includes nothing.
func (r Role) AtLeast(min Role) bool { return r.rank() > 0 && r.rank() >= min.rank() }

// Label is the role's name for people.
func (r Role) Label() string {
	switch r {
	case RoleFrontDesk:
		return "Front desk"
	case RoleManager:
		return "Practice manager"
	case RoleAdmin:
		return "Admin"
	}
	return string(r)
}

// ParseRole reads a role name; EINVALID (field "role") names the choices.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", FieldErrorf("role", "%q is not a role: use frontdesk, manager or admin", s)
	}
	return r, nil
}

// User is a member of a clinic's staff who signs in to the web app. Every
// user belongs to exactly one clinic and sees only that clinic's data.
type User struct {
	ID       int64
	ClinicID int64
	Email    string // lower-cased; unique across all clinics (it is the sign-in name)
	Name     string
	Role     Role
	// PasswordHash is a bcrypt hash, "" until the user sets a password
	// through a one-time sign-in link.
	PasswordHash string

	CreatedAt  time.Time
	UpdatedAt  time.Time
	DisabledAt time.Time // zero while the user may sign in
}

// Active reports whether the user may sign in.
func (u *User) Active() bool { return u.DisabledAt.IsZero() }

// Token is an API token. The secret is shown once when it is created; only
// its SHA-256 is stored.
type Token struct {
	ID        int64
	ClinicID  int64
	Name      string // what it is for, e.g. "EHR integration"
	Role      Role
	Hash      string // hex SHA-256 of the secret
	Prefix    string // the secret's first characters, to tell tokens apart in lists
	CreatedBy string // "cli" or the email of the admin who made it
	CreatedAt time.Time
	// LastUsedAt is updated at most once a minute per token.
	LastUsedAt time.Time
	RevokedAt  time.Time // zero while the token works
}

// Session is a signed-in browser. The cookie holds a random secret; only
// its SHA-256 (Hash) is stored, so a copy of the database cannot sign in.
type Session struct {
	Hash      string // hex SHA-256 of the cookie's secret
	UserID    int64
	ClinicID  int64
	CSRF      string // the token every form of this session must carry
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time // idle expiry, moved forward as the session is used
}

// SignInLink is a one-time link that signs a user in and asks for a new
// password: the first admin's link printed by `serve`, and the invitation
// link `user add` prints. Only the SHA-256 of its secret is stored.
type SignInLink struct {
	Hash      string
	UserID    int64
	ClinicID  int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// AccountStore keeps accounts: users and the ways they sign in (sessions,
// API tokens, sign-in links). One contract, since every credential names
// its user and a user's change (password, role, disabling) cancels them.
type AccountStore interface {
	// CreateUser stores u and sets its ID and times. ECONFLICT when the
	// email is taken (in any clinic).
	CreateUser(ctx context.Context, u *User) error
	// FindUser returns a user of the clinic. ENOTFOUND.
	FindUser(ctx context.Context, clinicID, id int64) (*User, error)
	// FindUserByEmail returns the user with that (lower-cased) email in any
	// clinic: the sign-in form has no clinic. ENOTFOUND.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns the clinic's users ordered by email.
	ListUsers(ctx context.Context, clinicID int64) ([]*User, error)
	// UpdateUser saves u's Name, Role, PasswordHash and DisabledAt (by
	// ClinicID and ID) and sets UpdatedAt. A changed PasswordHash cancels
	// the user's unused sign-in links. ENOTFOUND; ECONFLICT when the change
	// would leave the clinic with no active admin (checked and changed in
	// one transaction: every surface, web, API and CLI, gets the check).
	UpdateUser(ctx context.Context, u *User) error
	// CountUsers counts users in all clinics (serve offers a first admin
	// link when there are none).
	CountUsers(ctx context.Context) (int, error)

	// CreateSession stores s.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session with that hash. ENOTFOUND. Expiry is
	// the caller's to check.
	FindSession(ctx context.Context, hash string) (*Session, error)
	// TouchSession moves a session's SeenAt and ExpiresAt. ENOTFOUND.
	TouchSession(ctx context.Context, hash string, seen, expires time.Time) error
	// DeleteSession signs a session out; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteUserSessions signs a user out everywhere (password changed,
	// disabled, role changed).
	DeleteUserSessions(ctx context.Context, clinicID, userID int64) error

	// CreateToken stores t and sets its ID and CreatedAt. ECONFLICT if the
	// hash exists.
	CreateToken(ctx context.Context, t *Token) error
	// FindToken returns the token with that hash, revoked or not. ENOTFOUND.
	FindToken(ctx context.Context, hash string) (*Token, error)
	// ListTokens returns the clinic's tokens, newest first.
	ListTokens(ctx context.Context, clinicID int64) ([]*Token, error)
	// RevokeToken revokes a token of the clinic. ENOTFOUND. Revoking a
	// revoked token changes nothing.
	RevokeToken(ctx context.Context, clinicID, id int64, at time.Time) error
	// TouchToken records that the token was used at at.
	TouchToken(ctx context.Context, id int64, at time.Time) error

	// CreateLink stores a sign-in link and cancels the user's other unused
	// links (a cancelled link is ENOTFOUND to UseLink): only the newest
	// link works.
	CreateLink(ctx context.Context, l *SignInLink) error
	// UseLink marks the link with that hash used and returns it, atomically,
	// so a link works once. ENOTFOUND when it does not exist, was used, or
	// expired before at.
	UseLink(ctx context.Context, hash string, at time.Time) (*SignInLink, error)

	// PurgeSignIns deletes sessions that expired at or before now or were
	// created at or before createdBefore, and links used or expired, and
	// returns how many rows went (a periodic job of serve).
	PurgeSignIns(ctx context.Context, now, createdBefore time.Time) (int64, error)
}
