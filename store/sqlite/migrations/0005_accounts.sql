-- 0005: accounts (users, browser sessions, API tokens, one-time sign-in
-- links) and what the web app's lists need.
--
-- As in 0001, every row carries clinic_id, and a session or a link points at
-- its user through (clinic_id, user_id): the database itself refuses a
-- session of one clinic for a user of another. Secrets are never stored,
-- only their hex SHA-256 (hash).

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	clinic_id     INTEGER NOT NULL REFERENCES clinics (id),
	-- The sign-in name, so unique across clinics; lower-cased by the store.
	email         TEXT    NOT NULL UNIQUE CHECK (email <> '' AND email = lower(email)),
	name          TEXT    NOT NULL DEFAULT '',
	role          TEXT    NOT NULL CHECK (role IN ('frontdesk', 'manager', 'admin')),
	password_hash TEXT    NOT NULL DEFAULT '', -- bcrypt; '' until set through a link
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL,
	disabled_at   TEXT,
	UNIQUE (clinic_id, id)
);

CREATE TABLE sessions (
	hash       TEXT    PRIMARY KEY CHECK (hash <> ''),
	clinic_id  INTEGER NOT NULL REFERENCES clinics (id),
	user_id    INTEGER NOT NULL,
	csrf       TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	seen_at    TEXT    NOT NULL,
	expires_at TEXT    NOT NULL,
	FOREIGN KEY (clinic_id, user_id) REFERENCES users (clinic_id, id)
) WITHOUT ROWID;

-- Signing a user out everywhere.
CREATE INDEX sessions_user ON sessions (clinic_id, user_id);

CREATE TABLE tokens (
	id           INTEGER PRIMARY KEY,
	clinic_id    INTEGER NOT NULL REFERENCES clinics (id),
	name         TEXT    NOT NULL CHECK (name <> ''),
	role         TEXT    NOT NULL CHECK (role IN ('frontdesk', 'manager', 'admin')),
	hash         TEXT    NOT NULL UNIQUE CHECK (hash <> ''),
	prefix       TEXT    NOT NULL DEFAULT '',
	created_by   TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);

CREATE INDEX tokens_clinic ON tokens (clinic_id, id);

CREATE TABLE signin_links (
	hash       TEXT    PRIMARY KEY CHECK (hash <> ''),
	clinic_id  INTEGER NOT NULL REFERENCES clinics (id),
	user_id    INTEGER NOT NULL,
	created_at TEXT    NOT NULL,
	expires_at TEXT    NOT NULL,
	used_at    TEXT,
	FOREIGN KEY (clinic_id, user_id) REFERENCES users (clinic_id, id)
) WITHOUT ROWID;

-- A patient's enrollments, newest first (the patient page). The clinic's
-- own list pages by enrollments' UNIQUE (clinic_id, id).
CREATE INDEX enrollments_patient ON enrollments (clinic_id, patient_id, id);
-- Today's enrollments (the front desk's home page): a range of created_at,
-- not a walk through every older enrollment of the clinic.
CREATE INDEX enrollments_created ON enrollments (clinic_id, created_at);

-- Patient search, most recently updated first: the scan stops at the limit.
CREATE INDEX patients_recent ON patients (clinic_id, updated_at, id);
