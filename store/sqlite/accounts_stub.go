package sqlite

// TEMPORARY: stubs so the package compiles while accounts are being built.
// Replaced by accounts.go / patients.go.

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
)

func todo() error { return aftercare.Errorf(aftercare.EINTERNAL, "not implemented yet") }

func (db *DB) FindClinicByID(ctx context.Context, id int64) (*aftercare.Clinic, error) {
	cs, err := db.ListClinics(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, notFound("no clinic has id %d", id)
}
func (db *DB) CreateUser(ctx context.Context, u *aftercare.User) error { return todo() }
func (db *DB) FindUser(ctx context.Context, clinicID, id int64) (*aftercare.User, error) {
	return nil, todo()
}
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*aftercare.User, error) {
	return nil, todo()
}
func (db *DB) ListUsers(ctx context.Context, clinicID int64) ([]*aftercare.User, error) {
	return nil, todo()
}
func (db *DB) UpdateUser(ctx context.Context, u *aftercare.User) error       { return todo() }
func (db *DB) CountUsers(ctx context.Context) (int, error)                   { return 0, todo() }
func (db *DB) CreateSession(ctx context.Context, s *aftercare.Session) error { return todo() }
func (db *DB) FindSession(ctx context.Context, hash string) (*aftercare.Session, error) {
	return nil, todo()
}
func (db *DB) TouchSession(ctx context.Context, hash string, seen, expires time.Time) error {
	return todo()
}
func (db *DB) DeleteSession(ctx context.Context, hash string) error { return todo() }
func (db *DB) DeleteUserSessions(ctx context.Context, clinicID, userID int64) error {
	return todo()
}
func (db *DB) CreateToken(ctx context.Context, t *aftercare.Token) error { return todo() }
func (db *DB) FindToken(ctx context.Context, hash string) (*aftercare.Token, error) {
	return nil, todo()
}
func (db *DB) ListTokens(ctx context.Context, clinicID int64) ([]*aftercare.Token, error) {
	return nil, todo()
}
func (db *DB) RevokeToken(ctx context.Context, clinicID, id int64, at time.Time) error {
	return todo()
}
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error  { return todo() }
func (db *DB) CreateLink(ctx context.Context, l *aftercare.SignInLink) error { return todo() }
func (db *DB) UseLink(ctx context.Context, hash string, at time.Time) (*aftercare.SignInLink, error) {
	return nil, todo()
}
func (db *DB) ListEnrollments(ctx context.Context, f aftercare.EnrollmentFilter) ([]*aftercare.EnrollmentSummary, error) {
	return nil, todo()
}
func (db *DB) SearchPatients(ctx context.Context, clinicID int64, q string, limit int) ([]*aftercare.Patient, error) {
	return nil, todo()
}
func (db *DB) UpdatePatient(ctx context.Context, p *aftercare.Patient) error { return todo() }
