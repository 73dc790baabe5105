-- 0012: patients' replies to the clinic's texts (the inbox).
--
-- A reply is kept whoever sent it: patient_id is 0 when no patient of the
-- clinic has the sender's number (so no foreign key on it), and the
-- enrollment and message it answered are 0 when there was none.
-- provider_id (Twilio's MessageSid) is unique: a replayed webhook adds
-- nothing.
CREATE TABLE replies (
	id             INTEGER PRIMARY KEY,
	clinic_id      INTEGER NOT NULL REFERENCES clinics (id),
	patient_id     INTEGER NOT NULL DEFAULT 0,
	enrollment_id  INTEGER NOT NULL DEFAULT 0,
	message_id     INTEGER NOT NULL DEFAULT 0,
	from_number    TEXT    NOT NULL,
	to_number      TEXT    NOT NULL DEFAULT '',
	body           TEXT    NOT NULL DEFAULT '',
	provider_id    TEXT    NOT NULL UNIQUE,
	received_at    TEXT    NOT NULL,
	kind           TEXT    NOT NULL CHECK (kind IN ('text', 'stop', 'start', 'help', 'red-flag')),
	red_flag       INTEGER NOT NULL DEFAULT 0 CHECK (red_flag IN (0, 1)),
	red_flag_words TEXT    NOT NULL DEFAULT '',
	read_at        TEXT,
	read_by        INTEGER NOT NULL DEFAULT 0,
	auto_answered  INTEGER NOT NULL DEFAULT 0 CHECK (auto_answered IN (0, 1))
);

-- The inbox, newest first, and its unread count in the navigation.
CREATE INDEX replies_clinic ON replies (clinic_id, received_at);
CREATE INDEX replies_unread ON replies (clinic_id) WHERE read_at IS NULL;
CREATE INDEX replies_patient ON replies (clinic_id, patient_id, received_at);

-- Matching a reply to its patient by the number it came from.
CREATE INDEX patients_phone ON patients (clinic_id, phone) WHERE phone <> '';
