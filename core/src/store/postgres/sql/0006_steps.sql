-- Durable steps and events. Tables are named unqualified: the migration runs with the store's
-- schema as search_path, like every other migration.
CREATE TABLE reseolio_steps (
    job_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    result       BYTEA,
    error        TEXT,
    attempts     INTEGER NOT NULL,
    started_at   BIGINT NOT NULL,
    completed_at BIGINT,
    wait_key     TEXT,
    wake_at      BIGINT,
    PRIMARY KEY (job_id, seq)
);
-- The jobs suspended on an event key or a child job id; only waiting steps, so it stays small.
CREATE INDEX reseolio_steps_waiting ON reseolio_steps (wait_key, kind) WHERE status = 'WAITING';

CREATE TABLE reseolio_events (
    key     TEXT PRIMARY KEY,
    payload BYTEA NOT NULL,
    sent_at BIGINT NOT NULL
);

-- reseolio_wake_waiters(kind, keys, now, channel): makes the jobs suspended on a wait of `kind`
-- ('event' or 'child') for any of `keys` due at `now`, and, if it woke any, tells the idle
-- workers of every node. Returns how many it woke.
--
-- A function, not a plain statement, for its snapshot: under READ COMMITTED a VOLATILE function
-- takes a fresh snapshot for each statement it runs. The batched completion calls it from a
-- branch of its one UPDATE statement, after the UPDATE locked the children's rows; a parent that
-- suspended on a child (its transaction held the child's row FOR SHARE, so the UPDATE waited for
-- its commit) is visible here, where it would not be to another branch of the same statement,
-- whose snapshot predates that commit.
CREATE FUNCTION reseolio_wake_waiters(
    p_kind text,
    p_keys text[],
    p_now bigint,
    p_channel text
) RETURNS bigint
LANGUAGE plpgsql
VOLATILE
-- Resolves the tables in this schema whatever the caller's search_path is.
SET search_path FROM CURRENT
AS $fn$
DECLARE
    v_woken bigint;
BEGIN
    UPDATE reseolio_jobs SET run_at = p_now
    WHERE status = 'PENDING' AND run_at > p_now AND id IN (
        SELECT job_id FROM reseolio_steps
        WHERE wait_key = ANY(p_keys) AND kind = p_kind AND status = 'WAITING');
    GET DIAGNOSTICS v_woken = ROW_COUNT;
    IF v_woken > 0 THEN
        PERFORM pg_notify(p_channel, 'a');
    END IF;
    RETURN v_woken;
END
$fn$;
