-- The audit log: every staff action and consent change, for the clinic's
-- manager. Rows are only ever inserted. user_id is the staff user (0 for
-- the command line, an API token or the server itself); actor names who
-- did it for people. detail is short and never holds a message's text.
CREATE TABLE audit (
	id        INTEGER PRIMARY KEY,
	clinic_id INTEGER NOT NULL REFERENCES clinics (id),
	user_id   INTEGER NOT NULL DEFAULT 0,
	actor     TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	subject   TEXT    NOT NULL DEFAULT '',
	detail    TEXT    NOT NULL DEFAULT '',
	at        TEXT    NOT NULL
);
-- The manager's page: a clinic's entries by time, newest first.
CREATE INDEX audit_clinic_at ON audit (clinic_id, at, id);

-- Retention: a clinic's old message texts are replaced by one text per
-- purge that says so ("[purged after 90 days]"); the ids of those texts
-- are listed here, so that the next purge passes over the messages that
-- point at them. (A table of its own rather than a column of
-- message_texts: files made before 0003 get message_texts after this.)
CREATE TABLE purged_texts (
	id INTEGER PRIMARY KEY
);
