package postgres

// Methods not implemented yet (stubs_part2): each returns an error saying so.

import (
	"context"
	"errors"
	"time"

	"github.com/aftercare/aftercare"
)

// ClaimDue is not implemented yet.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, owner string, limit int) ([]*aftercare.Claimed, error) {
	return nil, errors.New("postgres: not implemented")
}

// RecordOutcome is not implemented yet.
func (db *DB) RecordOutcome(ctx context.Context, o *aftercare.Outcome) error {
	return errors.New("postgres: not implemented")
}

// Release is not implemented yet.
func (db *DB) Release(ctx context.Context, owner string, ids []int64) error {
	return errors.New("postgres: not implemented")
}

// RenewLease is not implemented yet.
func (db *DB) RenewLease(ctx context.Context, owner string, now, until time.Time) error {
	return errors.New("postgres: not implemented")
}

// EndLease is not implemented yet.
func (db *DB) EndLease(ctx context.Context, owner string, now time.Time) error {
	return errors.New("postgres: not implemented")
}

// MarkUnknown is not implemented yet.
func (db *DB) MarkUnknown(ctx context.Context, now, orphanCutoff time.Time) ([]*aftercare.Message, error) {
	return nil, errors.New("postgres: not implemented")
}

// ListUnknown is not implemented yet.
func (db *DB) ListUnknown(ctx context.Context, q aftercare.UnknownPage) ([]*aftercare.Claimed, error) {
	return nil, errors.New("postgres: not implemented")
}

// GiveUpUnknown is not implemented yet.
func (db *DB) GiveUpUnknown(ctx context.Context, cutoff time.Time, note string) (int, error) {
	return 0, errors.New("postgres: not implemented")
}

// Resolve is not implemented yet.
func (db *DB) Resolve(ctx context.Context, messageID int64, a aftercare.Attempt, status aftercare.Status, providerID string) error {
	return errors.New("postgres: not implemented")
}

// ApplyProviderStatus is not implemented yet.
func (db *DB) ApplyProviderStatus(ctx context.Context, providerID string, status aftercare.Status, errorCode string, at time.Time) (bool, error) {
	return false, errors.New("postgres: not implemented")
}

// ListAttempts is not implemented yet.
func (db *DB) ListAttempts(ctx context.Context, clinicID, messageID int64) ([]*aftercare.Attempt, error) {
	return nil, errors.New("postgres: not implemented")
}

// DailyStats is not implemented yet.
func (db *DB) DailyStats(ctx context.Context, clinicID int64, since, until time.Time) ([]aftercare.DayStat, error) {
	return nil, errors.New("postgres: not implemented")
}

// CreateUser is not implemented yet.
func (db *DB) CreateUser(ctx context.Context, u *aftercare.User) error {
	return errors.New("postgres: not implemented")
}

// FindUser is not implemented yet.
func (db *DB) FindUser(ctx context.Context, clinicID, id int64) (*aftercare.User, error) {
	return nil, errors.New("postgres: not implemented")
}

// FindUserByEmail is not implemented yet.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*aftercare.User, error) {
	return nil, errors.New("postgres: not implemented")
}

// ListUsers is not implemented yet.
func (db *DB) ListUsers(ctx context.Context, clinicID int64) ([]*aftercare.User, error) {
	return nil, errors.New("postgres: not implemented")
}

// UpdateUser is not implemented yet.
func (db *DB) UpdateUser(ctx context.Context, u *aftercare.User) error {
	return errors.New("postgres: not implemented")
}

// CountUsers is not implemented yet.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	return 0, errors.New("postgres: not implemented")
}

// CreateSession is not implemented yet.
func (db *DB) CreateSession(ctx context.Context, s *aftercare.Session) error {
	return errors.New("postgres: not implemented")
}

// FindSession is not implemented yet.
func (db *DB) FindSession(ctx context.Context, hash string) (*aftercare.Session, error) {
	return nil, errors.New("postgres: not implemented")
}

// TouchSession is not implemented yet.
func (db *DB) TouchSession(ctx context.Context, hash string, seen, expires time.Time) error {
	return errors.New("postgres: not implemented")
}

// DeleteSession is not implemented yet.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	return errors.New("postgres: not implemented")
}

// DeleteUserSessions is not implemented yet.
func (db *DB) DeleteUserSessions(ctx context.Context, clinicID, userID int64) error {
	return errors.New("postgres: not implemented")
}

// CreateToken is not implemented yet.
func (db *DB) CreateToken(ctx context.Context, t *aftercare.Token) error {
	return errors.New("postgres: not implemented")
}

// FindToken is not implemented yet.
func (db *DB) FindToken(ctx context.Context, hash string) (*aftercare.Token, error) {
	return nil, errors.New("postgres: not implemented")
}

// ListTokens is not implemented yet.
func (db *DB) ListTokens(ctx context.Context, clinicID int64) ([]*aftercare.Token, error) {
	return nil, errors.New("postgres: not implemented")
}

// RevokeToken is not implemented yet.
func (db *DB) RevokeToken(ctx context.Context, clinicID, id int64, at time.Time) error {
	return errors.New("postgres: not implemented")
}

// TouchToken is not implemented yet.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	return errors.New("postgres: not implemented")
}

// CreateLink is not implemented yet.
func (db *DB) CreateLink(ctx context.Context, l *aftercare.SignInLink) error {
	return errors.New("postgres: not implemented")
}

// UseLink is not implemented yet.
func (db *DB) UseLink(ctx context.Context, hash string, at time.Time) (*aftercare.SignInLink, error) {
	return nil, errors.New("postgres: not implemented")
}

// PurgeSignIns is not implemented yet.
func (db *DB) PurgeSignIns(ctx context.Context, now, createdBefore time.Time) (int64, error) {
	return 0, errors.New("postgres: not implemented")
}

// SetConsent is not implemented yet.
func (db *DB) SetConsent(ctx context.Context, ev *aftercare.ConsentEvent) (changed bool, err error) {
	return false, errors.New("postgres: not implemented")
}

// ListConsentEvents is not implemented yet.
func (db *DB) ListConsentEvents(ctx context.Context, clinicID, patientID int64) ([]*aftercare.ConsentEvent, error) {
	return nil, errors.New("postgres: not implemented")
}

// OptedOut is not implemented yet.
func (db *DB) OptedOut(ctx context.Context, clinicID, patientID int64, ch aftercare.Channel) (bool, error) {
	return false, errors.New("postgres: not implemented")
}

// Secret is not implemented yet.
func (db *DB) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	return nil, errors.New("postgres: not implemented")
}

// RecordAudit is not implemented yet.
func (db *DB) RecordAudit(ctx context.Context, e *aftercare.AuditEntry) error {
	return errors.New("postgres: not implemented")
}

// ListAudit is not implemented yet.
func (db *DB) ListAudit(ctx context.Context, f aftercare.AuditFilter) ([]*aftercare.AuditEntry, error) {
	return nil, errors.New("postgres: not implemented")
}

// PurgeTexts is not implemented yet.
func (db *DB) PurgeTexts(ctx context.Context, clinicID int64, before time.Time, marker string, dryRun bool) (aftercare.PurgeCounts, error) {
	return aftercare.PurgeCounts{}, errors.New("postgres: not implemented")
}

// AddReply is not implemented yet.
func (db *DB) AddReply(ctx context.Context, r *aftercare.Reply) (created bool, err error) {
	return false, errors.New("postgres: not implemented")
}

// ReplySeen is not implemented yet.
func (db *DB) ReplySeen(ctx context.Context, providerID string) (bool, error) {
	return false, errors.New("postgres: not implemented")
}

// FindReply is not implemented yet.
func (db *DB) FindReply(ctx context.Context, clinicID, id int64) (*aftercare.Reply, error) {
	return nil, errors.New("postgres: not implemented")
}

// ListReplies is not implemented yet.
func (db *DB) ListReplies(ctx context.Context, f aftercare.ReplyFilter) ([]*aftercare.Reply, error) {
	return nil, errors.New("postgres: not implemented")
}

// CountUnread is not implemented yet.
func (db *DB) CountUnread(ctx context.Context, clinicID int64) (int, error) {
	return 0, errors.New("postgres: not implemented")
}

// MarkRead is not implemented yet.
func (db *DB) MarkRead(ctx context.Context, clinicID, id, userID int64, at time.Time) error {
	return errors.New("postgres: not implemented")
}

// SetAutoAnswered is not implemented yet.
func (db *DB) SetAutoAnswered(ctx context.Context, clinicID, id int64) error {
	return errors.New("postgres: not implemented")
}

// MatchReply is not implemented yet.
func (db *DB) MatchReply(ctx context.Context, clinicID int64, phone string, before time.Time) (*aftercare.ReplyMatch, error) {
	return nil, errors.New("postgres: not implemented")
}

// AddReplyMessage is not implemented yet.
func (db *DB) AddReplyMessage(ctx context.Context, m *aftercare.Message, owner string) error {
	return errors.New("postgres: not implemented")
}

// CountAnswers is not implemented yet.
func (db *DB) CountAnswers(ctx context.Context, clinicID, patientID int64, stepKeys []string, since time.Time) (int, error) {
	return 0, errors.New("postgres: not implemented")
}
