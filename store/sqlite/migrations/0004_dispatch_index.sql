-- 0004: provider status reports that arrive before their message is known.
--
-- Twilio can post a status callback before the dispatcher has recorded the
-- answer that gave it the message's SID (the send and the callback race),
-- or while a crashed send waits for the reconciler. Such a report is kept
-- here, keyed by the provider's id (its clinic is not known yet), and is
-- applied, forward only, by the transaction that stores that provider id on
-- a message (RecordOutcome, Resolve), which then deletes it. Reports that
-- never find their message are deleted after a week.
--
-- (The due-message query needs no new index: messages_due serves it once
-- the query makes messages the outer loop; see claimFrom in dispatch.go.)

CREATE TABLE provider_reports (
	provider_id TEXT NOT NULL PRIMARY KEY CHECK (provider_id <> ''),
	status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered',
	                'undelivered', 'failed', 'unknown', 'skipped', 'expired', 'cancelled')),
	error_code  TEXT NOT NULL DEFAULT '',
	at          TEXT NOT NULL -- when the report came
) WITHOUT ROWID;

-- The weekly purge.
CREATE INDEX provider_reports_at ON provider_reports (at);
