-- Clinic settings of two-way messaging and records: where red-flag replies
-- are emailed, whether Twilio's own opt-out replies answer STOP and HELP,
-- how long message texts are kept, and whether patients get a link to
-- their own page.
ALTER TABLE clinics ADD COLUMN alert_email TEXT NOT NULL DEFAULT '';
ALTER TABLE clinics ADD COLUMN twilio_opt_out_replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clinics ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clinics ADD COLUMN patient_links INTEGER NOT NULL DEFAULT 0;
