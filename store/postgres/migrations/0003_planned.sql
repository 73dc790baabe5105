-- 0003: messages far in the future are kept on their enrollment until they
-- come near, as store/sqlite has since its migration 0008, in the same
-- form (store/internal/plan). This replaces 0001's "every message is a row
-- of messages, however far ahead it is due", which stays there as history.
--
-- Why: an enrollment of the built-in protocol plans about thirty messages,
-- most of them weeks away. As rows, an import of patients treated this
-- week wrote ~30 message rows per enrollment, each with its entries in the
-- natural key, messages_due and messages_text, and ran at 0.35-0.41 of
-- SQLite's rate (BenchmarkImportPostgres/treated=this-week ~3,500-5,000
-- enrollments/s against BenchmarkImport's ~9,000-12,000, -benchtime
-- 20000x, on a shared 2-core machine). Kept on the enrollment, the same
-- import writes ~1 message row per enrollment: see
-- scheduler/bench_test.go's BenchmarkImportPostgres for the figures since.
--
-- A pending message due Horizon (a day) or more after it is planned gets
-- its id from messages_id_seq like any message (so ids are never given
-- twice), its text is a message_texts row like any other, and it is kept in
-- its enrollment's `planned` column; ClaimDue makes it a row of messages,
-- with that id, once it comes within a day of its `now`. A patient's and
-- an enrollment's messages are read from both places; the clinic's
-- delivery log lists rows only (aftercare.MessageStore allows it).

-- The kept messages, in send time order, in store/internal/plan's binary
-- form; NULL when there are none.
ALTER TABLE enrollments ADD COLUMN planned bytea;
-- The earliest send time of those, NULL when there are none.
ALTER TABLE enrollments ADD COLUMN planned_next timestamptz;

-- What ClaimDue looks for: enrollments that keep a message coming near.
CREATE INDEX enrollments_planned ON enrollments (planned_next) WHERE planned_next IS NOT NULL;
