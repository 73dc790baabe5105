-- 0018: the manager's daily summary email (issue 13). A clinic names who
-- gets it (summary_to: "a@x.example, b@y.example"; '' is off, the default)
-- and when, in minutes after local midnight in the clinic's zone (07:00).
ALTER TABLE clinics ADD COLUMN summary_at INTEGER NOT NULL DEFAULT 420;
ALTER TABLE clinics ADD COLUMN summary_to TEXT NOT NULL DEFAULT '';

-- The ledger: one row per clinic and local day (YYYY-MM-DD), inserted in
-- its own transaction before the email is sent, so that a day's summary
-- goes out at most once however many serves share the database. sent_at
-- is set when the mail server took it; error says why not ("no SMTP...",
-- "skipped: ..."); neither, after the claim, means the serve stopped before
-- it knew.
CREATE TABLE clinic_summaries (
	clinic_id  INTEGER NOT NULL REFERENCES clinics (id),
	local_day  TEXT    NOT NULL,
	claimed_at TEXT    NOT NULL,
	sent_at    TEXT,
	error      TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (clinic_id, local_day)
) WITHOUT ROWID;
