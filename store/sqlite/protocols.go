package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

const protocolColumns = `id, clinic_id, slug, version, name, source, languages, yaml, sha256, created_at`

func scanProtocol(s scanner) (*aftercare.Protocol, error) {
	var p aftercare.Protocol
	var langs string
	err := s.Scan(&p.ID, &p.ClinicID, &p.Slug, &p.Version, &p.Name, &p.Source, &langs, &p.YAML, &p.SHA256,
		(*dbTime)(&p.CreatedAt))
	if err != nil {
		return nil, err
	}
	if langs != "" {
		p.Languages = strings.Split(langs, ",")
	}
	return &p, nil
}

// clinicExists is how writes tell "no such clinic" from other failures.
const clinicExists = `SELECT COUNT(*) FROM clinics WHERE id = ?`

const nextProtocolVersion = `SELECT COALESCE(MAX(version), 0) + 1 FROM protocols WHERE clinic_id = ? AND slug = ?`

const insertProtocol = `INSERT INTO protocols (clinic_id, slug, version, name, source, languages, yaml, sha256, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// SaveProtocol stores p as the next version of (p.ClinicID, p.Slug), the
// first being 1, and sets ID, Version and CreatedAt. Steps are not stored:
// they are in p.YAML. It returns EINVALID for a bad slug or a language code
// with a comma, and ENOTFOUND when the clinic does not exist.
func (db *DB) SaveProtocol(ctx context.Context, p *aftercare.Protocol) error {
	if err := aftercare.ValidateSlug("slug", p.Slug); err != nil {
		return err
	}
	for _, l := range p.Languages {
		if l == "" || strings.Contains(l, ",") {
			return aftercare.FieldErrorf("languages", "%q is not a language code", l)
		}
	}
	now := db.now()
	var id int64
	var version int
	err := db.write(ctx, "save protocol", func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, clinicExists, p.ClinicID); err != nil {
			return err
		}
		if n == 0 {
			return notFound("no clinic %d", p.ClinicID)
		}
		if err := tx.GetContext(ctx, &version, nextProtocolVersion, p.ClinicID, p.Slug); err != nil {
			return err
		}
		var err error
		id, err = execID(ctx, tx, insertProtocol, p.ClinicID, p.Slug, version, p.Name, p.Source,
			strings.Join(p.Languages, ","), p.YAML, p.SHA256, ts(now))
		return err
	})
	if err != nil {
		return err
	}
	p.ID, p.Version, p.CreatedAt = id, version, now
	return nil
}

const (
	findProtocolVersion = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = ? AND slug = ? AND version = ?`
	findProtocolLatest  = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = ? AND slug = ?
ORDER BY version DESC LIMIT 1`
	findProtocolByID = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = ? AND id = ?`
)

// FindProtocol returns version version of the clinic's protocol slug, or its
// latest version for version 0. It returns ENOTFOUND when there is none.
func (db *DB) FindProtocol(ctx context.Context, clinicID int64, slug string, version int) (*aftercare.Protocol, error) {
	var row *sql.Row
	if version == 0 {
		row = db.reader.QueryRowContext(ctx, findProtocolLatest, clinicID, slug)
	} else {
		row = db.reader.QueryRowContext(ctx, findProtocolVersion, clinicID, slug, version)
	}
	p, err := scanProtocol(row)
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return nil, notFound("no protocol %q in this clinic", slug)
		}
		return nil, notFound("no version %d of protocol %q in this clinic", version, slug)
	}
	if err != nil {
		return nil, dbError("find protocol", err)
	}
	return p, nil
}

// FindProtocolByID returns the clinic's protocol version with that id. It
// returns ENOTFOUND when there is none.
func (db *DB) FindProtocolByID(ctx context.Context, clinicID, id int64) (*aftercare.Protocol, error) {
	p, err := scanProtocol(db.reader.QueryRowContext(ctx, findProtocolByID, clinicID, id))
	return found(p, err, "find protocol", "no protocol %d in this clinic", id)
}

const listProtocols = `SELECT ` + protocolColumns + ` FROM protocols p
WHERE clinic_id = ? AND version = (SELECT MAX(version) FROM protocols q WHERE q.clinic_id = p.clinic_id AND q.slug = p.slug)
ORDER BY slug`

// ListProtocols returns the latest version of each of the clinic's protocols,
// ordered by slug. It returns only internal errors.
func (db *DB) ListProtocols(ctx context.Context, clinicID int64) ([]*aftercare.Protocol, error) {
	ps, err := queryAll(ctx, db.reader, scanProtocol, listProtocols, clinicID)
	return ps, dbError("list protocols", err)
}
