-- 0003: what makes a bulk import cheaper to write.
--
-- (It runs after 0007 on files created before it and before 0004 on new
-- ones, so it touches nothing 0004-0007 create.)

-- Message texts, stored once per distinct (subject, body) of a write: a
-- batch of 1,000 imported enrollments stores the daily sunscreen reminder
-- its patients share once per language instead of 13,000 times, and a
-- message row shrinks from ~440 to ~200 bytes. Rows are never updated (a
-- new text is a new row), so readers may cache them.
CREATE TABLE message_texts (
	id      INTEGER PRIMARY KEY,
	subject TEXT    NOT NULL DEFAULT '',
	body    TEXT    NOT NULL DEFAULT ''
);

-- A message's text is message_texts[text_id]. Messages written before this
-- migration (and rows bulk-loaded by tests and benchmarks) have no text_id
-- and keep their text in their own subject and body columns, which the
-- store leaves empty from now on; readers take whichever is set
-- (messageColumns in message.go).
ALTER TABLE messages ADD COLUMN text_id INTEGER REFERENCES message_texts (id);

-- Every message written costs an entry in each index of messages, and an
-- import writes thirty per patient; two of them are redundant:
--
-- messages_log (clinic_id, send_at, id): the delivery log reads
-- messages_log_status (clinic_id, status, send_at, id) instead, one range
-- per state merged in (send_at, id) order (ListMessages).
DROP INDEX messages_log;
-- messages_patient (patient_id, send_at): a patient's messages are found
-- through enrollments_patient and the messages' natural key (enrollment_id,
-- ...), and the few of one patient are sorted.
DROP INDEX messages_patient;
