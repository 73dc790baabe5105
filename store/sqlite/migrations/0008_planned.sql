-- 0008: messages far in the future are kept on their enrollment until they
-- come near.
--
-- An enrollment of the built-in protocol plans about thirty messages, most
-- of them weeks away (thirteen daily sunscreen reminders). Written as rows,
-- each costs an entry in the table, in its natural key and in the indexes
-- the dispatcher and the delivery log read, and an import of 100,000
-- patients writes three million of them before any is due. Instead, a
-- pending message due more than a day after it is planned (plan.go:
-- Horizon) is kept in its enrollment's `planned` column, and becomes a row
-- of messages, with the id it was given when planned, once the dispatcher
-- (ClaimDue) comes within a day of it. A patient's and an enrollment's
-- messages are read from both places; the delivery log lists rows, so it
-- shows a pending message from a day before it is due.

-- The kept messages, in send time order, in a compact binary form
-- (plan.go: appendPlanned); NULL when there are none.
ALTER TABLE enrollments ADD COLUMN planned BLOB;
-- The earliest send_at of those, NULL when there are none.
ALTER TABLE enrollments ADD COLUMN planned_next TEXT;

-- What ClaimDue looks for: enrollments that keep a message coming near.
CREATE INDEX enrollments_planned ON enrollments (planned_next) WHERE planned_next IS NOT NULL;

-- Message ids are given when a message is planned, so the ids of kept
-- messages must not be given again: the next free id is counted here, not
-- read from MAX(messages.id).
CREATE TABLE sequences (
	name TEXT    NOT NULL PRIMARY KEY,
	next INTEGER NOT NULL CHECK (next >= 1)
) WITHOUT ROWID;

INSERT INTO sequences (name, next) VALUES ('messages', (SELECT COALESCE(MAX(id), 0) + 1 FROM messages));

-- enrollments_protocol (protocol_id) served no query: enrollments are found
-- by clinic, patient, key or creation time, and a protocol's id is only
-- ever looked up the other way (enrollment -> protocol). Protocol versions
-- are never deleted, so the foreign key never searches enrollments by it.
-- An import paid for an entry per enrollment.
DROP INDEX enrollments_protocol;
