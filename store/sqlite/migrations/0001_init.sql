-- 0001: the initial schema.
--
-- Every row carries clinic_id, and child rows point at their parents through
-- (clinic_id, id) pairs, so the database itself refuses an enrollment, a
-- message or a patient of one clinic that refers to a row of another.
--
-- Times are TEXT in UTC, fixed width and sortable: 2006-01-02T15:04:05.000Z.
-- NULL is the zero time ("never"). Booleans are 0/1 integers.

CREATE TABLE clinics (
	id             INTEGER PRIMARY KEY,
	slug           TEXT    NOT NULL UNIQUE,
	name           TEXT    NOT NULL,
	phone          TEXT    NOT NULL DEFAULT '',
	country        TEXT    NOT NULL,
	tz             TEXT    NOT NULL,
	window_start   INTEGER NOT NULL, -- minutes after local midnight
	window_end     INTEGER NOT NULL,
	daily_cap      INTEGER NOT NULL,
	email_fallback INTEGER NOT NULL DEFAULT 0 CHECK (email_fallback IN (0, 1)),
	is_default     INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
	created_at     TEXT    NOT NULL,
	updated_at     TEXT    NOT NULL
);

-- At most one default clinic.
CREATE UNIQUE INDEX clinics_default ON clinics (is_default) WHERE is_default = 1;

CREATE TABLE protocols (
	id         INTEGER PRIMARY KEY,
	clinic_id  INTEGER NOT NULL REFERENCES clinics (id),
	slug       TEXT    NOT NULL,
	version    INTEGER NOT NULL CHECK (version >= 1),
	name       TEXT    NOT NULL,
	source     TEXT    NOT NULL,
	languages  TEXT    NOT NULL DEFAULT '', -- comma-separated language codes
	yaml       TEXT    NOT NULL,
	sha256     TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	UNIQUE (clinic_id, slug, version),
	UNIQUE (clinic_id, id)
);

CREATE TABLE patients (
	id                   INTEGER PRIMARY KEY,
	clinic_id            INTEGER NOT NULL REFERENCES clinics (id),
	match_key            TEXT    NOT NULL, -- aftercare.Patient.MatchKey
	name                 TEXT    NOT NULL,
	phone                TEXT    NOT NULL DEFAULT '',
	email                TEXT    NOT NULL DEFAULT '',
	tz                   TEXT    NOT NULL,
	lang                 TEXT    NOT NULL,
	sms_consent_at       TEXT,
	sms_consent_source   TEXT    NOT NULL DEFAULT '',
	email_consent_at     TEXT,
	email_consent_source TEXT    NOT NULL DEFAULT '',
	sms_opt_out_at       TEXT,
	email_opt_out_at     TEXT,
	created_at           TEXT    NOT NULL,
	updated_at           TEXT    NOT NULL,
	UNIQUE (clinic_id, match_key),
	UNIQUE (clinic_id, id)
);

CREATE TABLE enrollments (
	id           INTEGER PRIMARY KEY,
	clinic_id    INTEGER NOT NULL REFERENCES clinics (id),
	patient_id   INTEGER NOT NULL,
	protocol_id  INTEGER NOT NULL,
	treated_at   TEXT    NOT NULL,
	status       TEXT    NOT NULL CHECK (status IN ('active', 'cancelled')),
	idem_key     TEXT    NOT NULL, -- aftercare.Enrollment.Key
	source       TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL,
	updated_at   TEXT    NOT NULL,
	cancelled_at TEXT,
	UNIQUE (clinic_id, idem_key),
	UNIQUE (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
	FOREIGN KEY (clinic_id, protocol_id) REFERENCES protocols (clinic_id, id)
);

CREATE INDEX enrollments_protocol ON enrollments (protocol_id);

CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	clinic_id       INTEGER NOT NULL REFERENCES clinics (id),
	enrollment_id   INTEGER NOT NULL,
	patient_id      INTEGER NOT NULL,
	step_key        TEXT    NOT NULL,
	occurrence      INTEGER NOT NULL DEFAULT 0,
	channel         TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
	lang            TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered',
	                    'undelivered', 'failed', 'unknown', 'skipped', 'expired', 'cancelled')),
	send_at         TEXT    NOT NULL,
	expires_at      TEXT,
	note            TEXT    NOT NULL DEFAULT '',
	subject         TEXT    NOT NULL DEFAULT '',
	body            TEXT    NOT NULL DEFAULT '',
	segments        INTEGER NOT NULL DEFAULT 0,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT,
	claimed_at      TEXT,
	claimed_by      TEXT    NOT NULL DEFAULT '',
	sent_at         TEXT,
	delivered_at    TEXT,
	sender          TEXT    NOT NULL DEFAULT '',
	provider_id     TEXT    NOT NULL DEFAULT '',
	provider_status TEXT    NOT NULL DEFAULT '',
	error_code      TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	created_at      TEXT    NOT NULL,
	updated_at      TEXT    NOT NULL,
	-- The message's natural key; its index also serves lookups by
	-- enrollment_id (the leading column), so there is no separate one.
	UNIQUE (enrollment_id, step_key, occurrence, channel),
	FOREIGN KEY (clinic_id, enrollment_id) REFERENCES enrollments (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);

-- What the dispatcher looks for: pending messages by when they may be tried.
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'pending';
-- The delivery log, paged by (send_at, id) within a clinic.
CREATE INDEX messages_log ON messages (clinic_id, send_at, id);
CREATE INDEX messages_patient ON messages (patient_id, send_at);
-- Provider callbacks find their message by the provider's id.
CREATE INDEX messages_provider ON messages (provider_id) WHERE provider_id <> '';

-- One row per provider call. message_id is a plain foreign key: a
-- (clinic_id, id) one would need a second unique index on messages, paid on
-- every planned message, to guard rows the dispatcher writes from the
-- message it has just read.
CREATE TABLE attempts (
	id              INTEGER PRIMARY KEY,
	clinic_id       INTEGER NOT NULL REFERENCES clinics (id),
	message_id      INTEGER NOT NULL REFERENCES messages (id),
	number          INTEGER NOT NULL CHECK (number >= 1),
	at              TEXT    NOT NULL,
	channel         TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
	sender          TEXT    NOT NULL DEFAULT '',
	provider_id     TEXT    NOT NULL DEFAULT '',
	provider_status TEXT    NOT NULL DEFAULT '',
	error_code      TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	latency_ms      INTEGER NOT NULL DEFAULT 0,
	outcome         TEXT    NOT NULL CHECK (outcome IN ('pending', 'sending', 'sent', 'delivered',
	                    'undelivered', 'failed', 'unknown', 'skipped', 'expired', 'cancelled'))
);

CREATE INDEX attempts_message ON attempts (message_id);
