-- The consent history: every opt-in and opt-out of a patient on a channel,
-- kept as it happened (the patients row holds the state they add up to).
CREATE TABLE consent_events (
	id         INTEGER PRIMARY KEY,
	clinic_id  INTEGER NOT NULL REFERENCES clinics (id),
	patient_id INTEGER NOT NULL,
	channel    TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
	action     TEXT    NOT NULL CHECK (action IN ('given', 'withdrawn')),
	at         TEXT    NOT NULL,
	source     TEXT    NOT NULL,
	user_id    INTEGER NOT NULL DEFAULT 0,
	note       TEXT    NOT NULL DEFAULT '',
	FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX consent_events_patient ON consent_events (clinic_id, patient_id, id);

-- The server's own secrets (the key that signs links sent to patients),
-- made on first use so that every process sharing the file signs alike.
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
