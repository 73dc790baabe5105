package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

var _ aftercare.ProtocolStore = (*DB)(nil)

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

// lockClinic reads clinic $1's row FOR KEY SHARE: it tells "no such clinic"
// from other failures, and keeps the clinic from being deleted meanwhile.
const lockClinic = `SELECT 1 FROM clinics WHERE id = $1 FOR KEY SHARE`

// lockProtocolSlug serialises the writers of one (clinic, slug) until their
// transaction ends, so that two saves at once take consecutive versions
// instead of one failing on the unique version.
const lockProtocolSlug = `SELECT pg_advisory_xact_lock(hashtextextended('aftercare protocol ' || $1::bigint || ' ' || $2, 0))`

const nextProtocolVersion = `SELECT COALESCE(MAX(version), 0) + 1 FROM protocols WHERE clinic_id = $1 AND slug = $2`

const insertProtocol = `INSERT INTO protocols (clinic_id, slug, version, name, source, languages, yaml, sha256, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`

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
	err := db.write(ctx, "save protocol", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, lockClinic, p.ClinicID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound("no clinic %d", p.ClinicID)
			}
			return err
		}
		if _, err := tx.Exec(ctx, lockProtocolSlug, p.ClinicID, p.Slug); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, nextProtocolVersion, p.ClinicID, p.Slug).Scan(&version); err != nil {
			return err
		}
		return tx.QueryRow(ctx, insertProtocol, p.ClinicID, p.Slug, version, p.Name, p.Source,
			strings.Join(p.Languages, ","), p.YAML, p.SHA256, now).Scan(&id)
	})
	if err != nil {
		return err
	}
	p.ID, p.Version, p.CreatedAt = id, version, now
	return nil
}

const (
	findProtocolVersion = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = $1 AND slug = $2 AND version = $3`
	findProtocolLatest  = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = $1 AND slug = $2
ORDER BY version DESC LIMIT 1`
	findProtocolByID = `SELECT ` + protocolColumns + ` FROM protocols WHERE clinic_id = $1 AND id = $2`
)

// FindProtocol returns version version of the clinic's protocol slug, or its
// latest version for version 0. It returns ENOTFOUND when there is none.
func (db *DB) FindProtocol(ctx context.Context, clinicID int64, slug string, version int) (*aftercare.Protocol, error) {
	if version == 0 {
		p, err := scanProtocol(db.pool.QueryRow(ctx, findProtocolLatest, clinicID, slug))
		return found(p, err, "find protocol", "no protocol %q in this clinic", slug)
	}
	p, err := scanProtocol(db.pool.QueryRow(ctx, findProtocolVersion, clinicID, slug, version))
	return found(p, err, "find protocol", "no version %d of protocol %q in this clinic", version, slug)
}

// FindProtocolByID returns the clinic's protocol version with that id. It
// returns ENOTFOUND when there is none.
func (db *DB) FindProtocolByID(ctx context.Context, clinicID, id int64) (*aftercare.Protocol, error) {
	p, err := scanProtocol(db.pool.QueryRow(ctx, findProtocolByID, clinicID, id))
	return found(p, err, "find protocol", "no protocol %d in this clinic", id)
}

// listProtocols: the latest version of each slug, ordered by slug byte by
// byte (as SQLite does, whatever the database's collation).
const listProtocols = `SELECT DISTINCT ON (slug COLLATE "C") ` + protocolColumns + ` FROM protocols
WHERE clinic_id = $1
ORDER BY slug COLLATE "C", version DESC`

// ListProtocols returns the latest version of each of the clinic's protocols,
// ordered by slug. It returns only internal errors.
func (db *DB) ListProtocols(ctx context.Context, clinicID int64) ([]*aftercare.Protocol, error) {
	ps, err := queryAll(ctx, db.pool, scanProtocol, listProtocols, clinicID)
	return ps, dbError("list protocols", err)
}
