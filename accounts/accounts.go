// Package accounts holds the rules of staff accounts, below HTTP: password
// hashing and checking, API tokens, one-time sign-in links, sessions and
// their lifetimes, the first admin and the clinic's last admin. The web app
// and the command line both call it, so every surface gets the same rules
// (ardanlabs/service's userbus is the model: business rules under the
// handlers, not in them). It speaks only domain types; the web package
// turns its errors into statuses and pages.
//
// Files: accounts.go (the Service, passwords, secrets), tokens.go (API
// tokens, sign-in links), sessions.go (sessions, the purge job), users.go
// (adding users, the first admin, roles, disabling, the last admin).
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/aftercare/aftercare"
)

// Lifetimes and sizes of the account rules.
const (
	// SessionIdle: a session unused this long is signed out.
	SessionIdle = 12 * time.Hour
	// SessionLifetime: a session this old is signed out whatever happens.
	SessionLifetime = 7 * 24 * time.Hour
	// TouchEvery: a session's SeenAt or a token's LastUsedAt is written at
	// most this often, so that reads do not turn into writes.
	TouchEvery = time.Minute
	// LinkLifetime is how long a one-time sign-in link works.
	LinkLifetime = 72 * time.Hour
	// MinPassword is the shortest password accepted, in characters.
	MinPassword = 10
	// TokenPrefix starts every API token, so a leaked one is recognisable.
	TokenPrefix = "act_"
	// DefaultPasswordCost is bcrypt's cost when Service.PasswordCost is 0.
	DefaultPasswordCost = 12
)

// Store is what the account rules read and write: the accounts, and the
// clinics (the first admin joins the default clinic).
type Store interface {
	aftercare.AccountStore
	// FindClinic returns the clinic with that slug, the default one for "".
	FindClinic(ctx context.Context, slug string) (*aftercare.Clinic, error)
}

// Service applies the account rules to a store. The zero values of its
// optional fields are the production ones.
type Service struct {
	Store Store
	// PasswordCost is bcrypt's cost for new password hashes (0:
	// DefaultPasswordCost). Tests lower it; the hash that unknown emails
	// are checked against has the same cost, so timing does not tell who
	// has an account.
	PasswordCost int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rand is where secrets come from (nil: crypto/rand).
	Rand io.Reader
	// Logger records what is worth knowing but fails nothing, e.g. a
	// session's last use that could not be written (nil: discarded).
	Logger *slog.Logger

	dummy struct {
		sync.Mutex
		cost int
		hash []byte
	}
}

// New returns a Service of st with clock now and the production cost.
func New(st Store, now func() time.Time) *Service {
	return &Service{Store: st, Now: now}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) cost() int {
	if s.PasswordCost == 0 {
		return DefaultPasswordCost
	}
	return s.PasswordCost
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// newSecret returns a random URL-safe secret and the hex SHA-256 that is
// stored in its place. EINTERNAL when Rand fails (crypto/rand never does).
func (s *Service) newSecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", aftercare.Errorf(aftercare.EINTERNAL, "making a secret: %v", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// HashSecret is the stored form of a session, token or link secret: a copy
// of the database cannot sign anyone in.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ValidPassword checks a new password without hashing it. EINVALID (field
// "password") says what is wrong with it.
func ValidPassword(pw string) error {
	if len([]rune(pw)) < MinPassword {
		return aftercare.FieldErrorf("password", "use at least %d characters", MinPassword)
	}
	if len(pw) > 72 {
		return aftercare.FieldErrorf("password", "use at most 72 bytes (bcrypt ignores the rest)")
	}
	return nil
}

// HashPassword checks a new password and returns its bcrypt hash at
// PasswordCost. EINVALID (field "password") says what is wrong with it.
func (s *Service) HashPassword(pw string) (string, error) {
	if err := ValidPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost())
	if err != nil {
		return "", aftercare.Errorf(aftercare.EINTERNAL, "hashing a password: %v", err)
	}
	return string(h), nil
}

// ErrWrongPassword is Authenticate's answer to a wrong email or password:
// the same for both, so that nobody learns who has an account.
var ErrWrongPassword = aftercare.Errorf(aftercare.EUNAUTHORIZED, "the email or the password is wrong")

// Authenticate returns the active user with that (lower-cased) email and
// password. ErrWrongPassword when there is none, the password is wrong or
// not chosen yet, or the user is disabled; other errors are the store's.
func (s *Service) Authenticate(ctx context.Context, email, pw string) (*aftercare.User, error) {
	u, err := s.Store.FindUserByEmail(ctx, email)
	if err != nil && aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		return nil, err
	}
	if u == nil || u.PasswordHash == "" || !u.Active() {
		// As long as a wrong password takes: the answer is ignored.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(pw))
		return nil, ErrWrongPassword
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
		return nil, ErrWrongPassword
	}
	return u, nil
}

// dummyHash returns the hash compared against when the email is unknown,
// so that a wrong email takes as long as a wrong password: it has the cost
// of real hashes, made the first time it is needed at that cost.
func (s *Service) dummyHash() []byte {
	s.dummy.Lock()
	defer s.dummy.Unlock()
	if cost := s.cost(); s.dummy.hash == nil || s.dummy.cost != cost {
		h, err := bcrypt.GenerateFromPassword([]byte("not a real password"), cost)
		if err != nil { // an out-of-range cost: bcrypt's default stands in
			h, err = bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)
		}
		if err != nil { // crypto/rand failed: not kept, the next call tries again
			s.logger().Error("making the dummy password hash", "err", err)
			return nil
		}
		s.dummy.cost, s.dummy.hash = cost, h
	}
	return s.dummy.hash
}
