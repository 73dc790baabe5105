-- 0002: what the dispatcher and the reconciler look for besides due messages.

-- Claims in flight, found by age when a dispatcher died.
CREATE INDEX messages_sending ON messages (claimed_at) WHERE status = 'sending';
-- Messages whose outcome is not known, for the reconciler and the manager.
CREATE INDEX messages_unknown ON messages (claimed_at) WHERE status = 'unknown';
