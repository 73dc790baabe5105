package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

var _ aftercare.ClinicStore = (*DB)(nil)

// clearDefault makes the default clinic, unless it is clinic $2, an ordinary one.
const clearDefault = `UPDATE clinics SET is_default = false, updated_at = $1 WHERE is_default AND id <> $2`

const insertClinic = `INSERT INTO clinics (slug, name, phone, country, tz, window_start, window_end,
	daily_cap, email_fallback, is_default, created_at, updated_at, sms_from, email_from, show_treatment,
	alert_email, twilio_opt_out_replies, retention_days, patient_links, summary_at, summary_to)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
RETURNING id`

// CreateClinic stores c and sets its ID, CreatedAt and UpdatedAt. If
// c.Default is set, the clinic that was the default stops being it. It
// returns EINVALID when c.Validate fails and ECONFLICT when the slug or a
// sender is taken.
func (db *DB) CreateClinic(ctx context.Context, c *aftercare.Clinic) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := db.now()
	var id int64
	err := db.write(ctx, "create clinic", func(tx pgx.Tx) error {
		if c.Default {
			if _, err := tx.Exec(ctx, clearDefault, now, 0); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, insertClinic, c.Slug, c.Name, c.Phone, c.Country, c.TZ,
			c.Window.Start, c.Window.End, c.DailyCap, c.EmailFallback, c.Default, now, c.SMSFrom, c.EmailFrom, c.ShowTreatment,
			c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks, c.SummaryAt, c.SummaryTo).Scan(&id)
	})
	if err != nil {
		return err
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
	return nil
}

const (
	findClinicBySlug  = `SELECT ` + clinicColumns + ` FROM clinics WHERE slug = $1`
	findDefaultClinic = `SELECT ` + clinicColumns + ` FROM clinics WHERE is_default`
)

// FindClinic returns the clinic with that slug, or the default clinic for
// slug "". It returns ENOTFOUND when there is none.
func (db *DB) FindClinic(ctx context.Context, slug string) (*aftercare.Clinic, error) {
	if slug == "" {
		c, err := scanClinic(db.pool.QueryRow(ctx, findDefaultClinic))
		return found(c, err, "find clinic", "there is no default clinic: name the clinic, or make one the default")
	}
	c, err := scanClinic(db.pool.QueryRow(ctx, findClinicBySlug, slug))
	return found(c, err, "find clinic", "no clinic %q", slug)
}

const findClinicByID = `SELECT ` + clinicColumns + ` FROM clinics WHERE id = $1`

// FindClinicByID returns the clinic with that id. It returns ENOTFOUND when
// there is none.
func (db *DB) FindClinicByID(ctx context.Context, id int64) (*aftercare.Clinic, error) {
	c, err := scanClinic(db.pool.QueryRow(ctx, findClinicByID, id))
	return found(c, err, "find clinic", "no clinic %d", id)
}

// listClinics orders by slug byte by byte, as SQLite does, whatever the
// database's collation.
const listClinics = `SELECT ` + clinicColumns + ` FROM clinics ORDER BY slug COLLATE "C"`

// ListClinics returns every clinic ordered by slug. It returns only internal
// errors.
func (db *DB) ListClinics(ctx context.Context) ([]*aftercare.Clinic, error) {
	cs, err := queryAll(ctx, db.pool, scanClinic, listClinics)
	return cs, dbError("list clinics", err)
}

const updateClinic = `UPDATE clinics SET slug = $1, name = $2, phone = $3, country = $4, tz = $5,
	window_start = $6, window_end = $7, daily_cap = $8, email_fallback = $9, is_default = $10, updated_at = $11,
	sms_from = $12, email_from = $13, show_treatment = $14,
	alert_email = $15, twilio_opt_out_replies = $16, retention_days = $17, patient_links = $18,
	summary_at = $19, summary_to = $20
WHERE id = $21
RETURNING created_at`

// UpdateClinic saves every setting of c (found by c.ID), including its slug
// and whether it is the default, and sets UpdatedAt (and CreatedAt, from the
// stored row). It returns EINVALID when c.Validate fails, ENOTFOUND when there
// is no clinic c.ID and ECONFLICT when the new slug or a sender is taken.
func (db *DB) UpdateClinic(ctx context.Context, c *aftercare.Clinic) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := db.now()
	var created dbTime
	err := db.write(ctx, "update clinic", func(tx pgx.Tx) error {
		if c.Default {
			if _, err := tx.Exec(ctx, clearDefault, now, c.ID); err != nil {
				return err
			}
		}
		err := tx.QueryRow(ctx, updateClinic, c.Slug, c.Name, c.Phone, c.Country, c.TZ,
			c.Window.Start, c.Window.End, c.DailyCap, c.EmailFallback, c.Default, now, c.SMSFrom, c.EmailFrom, c.ShowTreatment,
			c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks, c.SummaryAt, c.SummaryTo, c.ID).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("no clinic %d", c.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = timeOf(created), now
	return nil
}
