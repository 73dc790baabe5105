-- 0016: claim leases. Each running dispatcher (a process, named by its
-- owner string: instance + random suffix) holds one lease and renews it
-- while it runs; its sending messages are its claims. Only the claims of a
-- lease that lapsed are taken over (made unknown): a second process on the
-- same host or with the same AFTERCARE_INSTANCE no longer takes the claims
-- of one that is still finishing them (a rolling restart).
CREATE TABLE claim_leases (
	owner      TEXT NOT NULL PRIMARY KEY,
	expires_at TEXT NOT NULL,
	renewed_at TEXT NOT NULL
) WITHOUT ROWID;

-- One row that GET /readyz rewrites: readiness is a real committed write
-- (a read-only file, a full disk or a lost lock fail it), not a ping.
CREATE TABLE readiness (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at TEXT NOT NULL
);
