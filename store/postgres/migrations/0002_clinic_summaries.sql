-- 0002: the manager's daily summary email (sqlite's 0018). A clinic names
-- who gets it (summary_to: "a@x.example, b@y.example"; '' is off, the
-- default) and when, in minutes after local midnight in its zone (07:00).
ALTER TABLE clinics ADD COLUMN summary_at integer NOT NULL DEFAULT 420;
ALTER TABLE clinics ADD COLUMN summary_to text    NOT NULL DEFAULT '';

-- The ledger: one row per clinic and local day (YYYY-MM-DD), inserted in
-- its own transaction before the email is sent, so that a day's summary
-- goes out at most once however many serves share the database.
CREATE TABLE clinic_summaries (
	clinic_id  bigint NOT NULL REFERENCES clinics (id),
	local_day  text   NOT NULL,
	claimed_at timestamptz NOT NULL,
	sent_at    timestamptz,
	error      text   NOT NULL DEFAULT '',
	PRIMARY KEY (clinic_id, local_day)
);
