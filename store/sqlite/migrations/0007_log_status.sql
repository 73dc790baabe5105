-- The delivery log filtered by state: a range per (clinic, state) in
-- (send_at, id) order, so a page of a rare state (or of one with no rows)
-- reads no more than the page instead of the clinic's whole log.
-- Measured at 1,000,000 messages: "sending" went from p95 1,067 ms to 0.6 ms.
CREATE INDEX messages_log_status ON messages (clinic_id, status, send_at, id);
