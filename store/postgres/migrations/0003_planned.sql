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
-- import writes 0.94 message rows per enrollment, as on SQLite, and the
-- server's CPU for 20,000 enrollments fell from 3.9-5.5 s to 1.9-3.5 s;
-- the rate, before and after back to back, rose 1.8x and 2.8x in two
-- rounds (4,649 to 8,524/s, 2,573 to 7,235/s) and 1.03x in a third that
-- other processes swamped; 0.37-1.23 of SQLite's in back-to-back pairs at
-- load 5-7, median ~0.7 (docs/performance.md, "Third round").
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
