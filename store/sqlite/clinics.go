package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

const clinicColumns = `id, slug, name, phone, country, tz, window_start, window_end,
	daily_cap, email_fallback, is_default, created_at, updated_at, sms_from, email_from, show_treatment,
	alert_email, twilio_opt_out_replies, retention_days, patient_links, summary_at, summary_to`

// clinicDest appends the scan destinations of clinicColumns in c to dst.
func clinicDest(dst []any, c *aftercare.Clinic) []any {
	return append(dst, &c.ID, &c.Slug, &c.Name, &c.Phone, &c.Country, &c.TZ, &c.Window.Start, &c.Window.End,
		&c.DailyCap, &c.EmailFallback, &c.Default, (*dbTime)(&c.CreatedAt), (*dbTime)(&c.UpdatedAt), &c.SMSFrom, &c.EmailFrom, &c.ShowTreatment,
		&c.AlertEmail, &c.TwilioOptOutReplies, &c.RetentionDays, &c.PatientLinks, &c.SummaryAt, &c.SummaryTo)
}

func scanClinic(s scanner) (*aftercare.Clinic, error) {
	var c aftercare.Clinic
	err := s.Scan(clinicDest(make([]any, 0, 22), &c)...)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// clearDefault makes the default clinic, unless it is clinic ?, an ordinary one.
const clearDefault = `UPDATE clinics SET is_default = 0, updated_at = ? WHERE is_default = 1 AND id <> ?`

const insertClinic = `INSERT INTO clinics (slug, name, phone, country, tz, window_start, window_end,
	daily_cap, email_fallback, is_default, created_at, updated_at, sms_from, email_from, show_treatment,
	alert_email, twilio_opt_out_replies, retention_days, patient_links, summary_at, summary_to)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateClinic stores c and sets its ID, CreatedAt and UpdatedAt. If
// c.Default is set, the clinic that was the default stops being it. It
// returns EINVALID when c.Validate fails and ECONFLICT when the slug is taken.
func (db *DB) CreateClinic(ctx context.Context, c *aftercare.Clinic) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := db.now()
	var id int64
	err := db.write(ctx, "create clinic", func(tx *sqlx.Tx) error {
		if c.Default {
			if _, err := tx.ExecContext(ctx, clearDefault, ts(now), 0); err != nil {
				return err
			}
		}
		var err error
		id, err = execID(ctx, tx, insertClinic, c.Slug, c.Name, c.Phone, c.Country, c.TZ,
			c.Window.Start, c.Window.End, c.DailyCap, c.EmailFallback, c.Default, ts(now), ts(now), c.SMSFrom, c.EmailFrom, c.ShowTreatment,
			c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks, c.SummaryAt, c.SummaryTo)
		return err
	})
	if err != nil {
		return err
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
	return nil
}

const (
	findClinicBySlug  = `SELECT ` + clinicColumns + ` FROM clinics WHERE slug = ?`
	findDefaultClinic = `SELECT ` + clinicColumns + ` FROM clinics WHERE is_default = 1`
)

// FindClinic returns the clinic with that slug, or the default clinic for
// slug "". It returns ENOTFOUND when there is none.
func (db *DB) FindClinic(ctx context.Context, slug string) (*aftercare.Clinic, error) {
	var row *sql.Row
	if slug == "" {
		row = db.reader.QueryRowContext(ctx, findDefaultClinic)
	} else {
		row = db.reader.QueryRowContext(ctx, findClinicBySlug, slug)
	}
	c, err := scanClinic(row)
	if errors.Is(err, sql.ErrNoRows) {
		if slug == "" {
			return nil, notFound("there is no default clinic: name the clinic, or make one the default")
		}
		return nil, notFound("no clinic %q", slug)
	}
	if err != nil {
		return nil, dbError("find clinic", err)
	}
	return c, nil
}

const findClinicByID = `SELECT ` + clinicColumns + ` FROM clinics WHERE id = ?`

// FindClinicByID returns the clinic with that id. It returns ENOTFOUND when
// there is none.
func (db *DB) FindClinicByID(ctx context.Context, id int64) (*aftercare.Clinic, error) {
	c, err := scanClinic(db.reader.QueryRowContext(ctx, findClinicByID, id))
	return found(c, err, "find clinic", "no clinic %d", id)
}

const listClinics = `SELECT ` + clinicColumns + ` FROM clinics ORDER BY slug`

// ListClinics returns every clinic ordered by slug. It returns only internal
// errors.
func (db *DB) ListClinics(ctx context.Context) ([]*aftercare.Clinic, error) {
	cs, err := queryAll(ctx, db.reader, scanClinic, listClinics)
	return cs, dbError("list clinics", err)
}

const updateClinic = `UPDATE clinics SET slug = ?, name = ?, phone = ?, country = ?, tz = ?,
	window_start = ?, window_end = ?, daily_cap = ?, email_fallback = ?, is_default = ?, updated_at = ?,
	sms_from = ?, email_from = ?, show_treatment = ?,
	alert_email = ?, twilio_opt_out_replies = ?, retention_days = ?, patient_links = ?, summary_at = ?, summary_to = ?
WHERE id = ?
RETURNING created_at`

// UpdateClinic saves every setting of c (found by c.ID), including its slug
// and whether it is the default, and sets UpdatedAt (and CreatedAt, from the
// stored row). It returns EINVALID when c.Validate fails, ENOTFOUND when there
// is no clinic c.ID and ECONFLICT when the new slug is taken.
func (db *DB) UpdateClinic(ctx context.Context, c *aftercare.Clinic) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := db.now()
	var created dbTime
	err := db.write(ctx, "update clinic", func(tx *sqlx.Tx) error {
		if c.Default {
			if _, err := tx.ExecContext(ctx, clearDefault, ts(now), c.ID); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, updateClinic, c.Slug, c.Name, c.Phone, c.Country, c.TZ,
			c.Window.Start, c.Window.End, c.DailyCap, c.EmailFallback, c.Default, ts(now), c.SMSFrom, c.EmailFrom, c.ShowTreatment,
			c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks, c.SummaryAt, c.SummaryTo, c.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no clinic %d", c.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = time.Time(created), now
	return nil
}
