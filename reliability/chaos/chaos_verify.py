"""What the chaos run must leave behind, checked from the database itself and from the logs.

The database is read directly (SQLite with the ``sqlite3`` module, read-only; PostgreSQL with a
``psql`` subprocess), never through the engine, so that an engine bug cannot hide itself. The
checks, each a named violation when it fails:

- ``malformed_log``: every log line parses (lines are single ``O_APPEND`` writes).
- ``lost``: every job a producer logged (after ``enqueue`` returned) is in the database.
- ``phantom``: every ``chaos:work`` job in the database was logged by a producer (an enqueue
  retried after a lost reply must have deduplicated, not made a second job), and one key maps to
  one id (``key_conflict``).
- ``not_success``: every such job is SUCCESS.
- ``success_rows``: exactly one attempt row with outcome ``success`` per job, and
  ``success_lease``: it is the job's current lease (the last claim).
- ``stale_completion``: the stored result names the job and the attempt it ran as, and that
  attempt is the job's final attempt (and the success row's). A completion from an earlier,
  lost attempt would carry a smaller attempt number.
- ``result_unlogged``: the stored result was produced by an execution that logged its start and
  its successful finish (same job, attempt and pid).
- ``open_attempt``: no attempt row of a finished job is left open.
- ``starts_exceed_attempts``: a job never started more often than it was claimed (each claim,
  a new lease, is one attempt row): two executions of one lease would be a double delivery.
- ``unexplained_duplicate``: a job started again after an execution that did not end in its
  deliberate failure is a duplicate execution; it must be explained by a kill: between the
  earlier start and the later one, the earlier execution's process was SIGKILLed, or (for a
  worker connected to the sidecar) the sidecar was.
- ``orphan_attempts`` / ``orphan_steps``: no attempt or step row without its job.
- ``integrity`` / ``foreign_keys`` (SQLite): ``PRAGMA integrity_check`` is ``ok`` and
  ``PRAGMA foreign_key_check`` returns nothing.

``prove_checks`` shows that these checks can fail: it copies the finished run's database (SQLite
through the backup API, PostgreSQL into a scratch schema) and logs, applies one fault per copy
(a deleted job, a fake duplicate, a second success row, a corrupted page...) and requires the
verifier to report the matching violation.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

from chaos_common import (
    FUNCTION,
    Finish,
    Kill,
    Start,
    psql,
    quote_ident,
    read_effects,
    read_enqueued,
    read_kills,
)


@dataclass
class DbJob:
    id: str
    status: str
    attempt: int
    lease: int
    result: Optional[bytes]


@dataclass
class DbAttempt:
    job_id: str
    attempt: int
    lease: int
    outcome: Optional[str]
    finished_at: Optional[int]
    started_at: int


@dataclass
class Snapshot:
    jobs: Dict[str, DbJob]
    attempts: List[DbAttempt]
    orphan_attempts: int
    orphan_steps: int
    integrity: str = "n/a"
    foreign_key_violations: int = 0


_JOBS_SQL = f"SELECT id, status, attempt, lease, {{result}} FROM reseolio_jobs WHERE name = '{FUNCTION}'"
_ATTEMPTS_SQL = (
    "SELECT a.job_id, a.attempt, a.lease, a.outcome, a.finished_at, a.started_at FROM reseolio_attempts a "
    f"JOIN reseolio_jobs j ON j.id = a.job_id WHERE j.name = '{FUNCTION}'"
)
_ORPHAN_ATTEMPTS_SQL = (
    "SELECT count(*) FROM reseolio_attempts a "
    "WHERE NOT EXISTS (SELECT 1 FROM reseolio_jobs j WHERE j.id = a.job_id)"
)
_ORPHAN_STEPS_SQL = (
    "SELECT count(*) FROM reseolio_steps s "
    "WHERE NOT EXISTS (SELECT 1 FROM reseolio_jobs j WHERE j.id = s.job_id)"
)


def load_sqlite(path: str) -> Snapshot:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            integrity = "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
        except sqlite3.DatabaseError as e:
            integrity = f"error: {e}"
        try:
            fk = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        except sqlite3.DatabaseError:
            fk = -1
        jobs: Dict[str, DbJob] = {}
        attempts: List[DbAttempt] = []
        orphan_a = orphan_s = 0
        try:
            for jid, status, attempt, lease, result in conn.execute(_JOBS_SQL.format(result="result")):
                jobs[jid] = DbJob(jid, status, attempt, lease, result)
            for row in conn.execute(_ATTEMPTS_SQL):
                attempts.append(DbAttempt(*row))
            orphan_a = conn.execute(_ORPHAN_ATTEMPTS_SQL).fetchone()[0]
            orphan_s = conn.execute(_ORPHAN_STEPS_SQL).fetchone()[0]
        except sqlite3.DatabaseError as e:
            integrity = f"{integrity}; read error: {e}"
        return Snapshot(jobs, attempts, orphan_a, orphan_s, integrity, fk)
    finally:
        conn.close()


def _pg_sql(schema: str, sql: str) -> str:
    return f"SET search_path TO {quote_ident(schema)}; {sql}"


def load_postgres(psql_url: str, schema: str) -> Snapshot:
    jobs: Dict[str, DbJob] = {}
    for jid, status, attempt, lease, hexres in psql(
        psql_url, _pg_sql(schema, _JOBS_SQL.format(result="coalesce(encode(result, 'hex'), '-')"))
    ):
        jobs[jid] = DbJob(jid, status, int(attempt), int(lease), None if hexres == "-" else bytes.fromhex(hexres))
    attempts: List[DbAttempt] = []
    for jid, attempt, lease, outcome, finished, started in psql(psql_url, _pg_sql(schema, _ATTEMPTS_SQL)):
        attempts.append(
            DbAttempt(jid, int(attempt), int(lease), outcome or None, int(finished) if finished else None, int(started))
        )
    orphan_a = int(psql(psql_url, _pg_sql(schema, _ORPHAN_ATTEMPTS_SQL))[0][0])
    orphan_s = int(psql(psql_url, _pg_sql(schema, _ORPHAN_STEPS_SQL))[0][0])
    return Snapshot(jobs, attempts, orphan_a, orphan_s)


@dataclass
class Report:
    counts: Dict[str, int] = field(default_factory=dict)
    violations: List[Tuple[str, str]] = field(default_factory=list)
    integrity: str = "n/a"

    def fail(self, key: str, message: str) -> None:
        self.violations.append((key, message))

    def keys(self) -> Set[str]:
        return {k for k, _ in self.violations}


def verify(snap: Snapshot, run_dir: str, sqlite_checks: bool) -> Report:
    rep = Report(integrity=snap.integrity)
    starts, finishes, bad_e = read_effects(os.path.join(run_dir, "effects.log"))
    enq, bad_q = read_enqueued(os.path.join(run_dir, "enqueued.log"))
    kills, bad_k = read_kills(os.path.join(run_dir, "kills.log"))
    if bad_e or bad_q or bad_k:
        rep.fail("malformed_log", f"{bad_e + bad_q + bad_k} malformed log line(s)")

    # --- enqueued vs stored -------------------------------------------------------------------
    by_key: Dict[str, Set[str]] = defaultdict(set)
    for e in enq:
        by_key[e.key].add(e.job_id)
    for key, ids in by_key.items():
        if len(ids) > 1:
            rep.fail("key_conflict", f"idempotency key {key} returned {len(ids)} different ids")
    enq_ids = {e.job_id for e in enq}
    lost = sorted(enq_ids - set(snap.jobs))
    phantom = sorted(set(snap.jobs) - enq_ids)
    if lost:
        rep.fail("lost", f"{len(lost)} enqueued job(s) missing from the database, e.g. {lost[:3]}")
    if phantom:
        rep.fail("phantom", f"{len(phantom)} job(s) in the database no producer logged, e.g. {phantom[:3]}")
    not_success = sorted(j.id for j in snap.jobs.values() if j.status != "SUCCESS")
    if not_success:
        statuses = sorted({snap.jobs[i].status for i in not_success})
        rep.fail("not_success", f"{len(not_success)} job(s) not SUCCESS ({statuses}), e.g. {not_success[:3]}")

    # --- attempts and results ----------------------------------------------------------------
    att_by_job: Dict[str, List[DbAttempt]] = defaultdict(list)
    for a in snap.attempts:
        att_by_job[a.job_id].append(a)
    ok_finishes = {(f.job_id, f.attempt, f.pid) for f in finishes if f.outcome == "ok"}
    start_keys = {(s.job_id, s.attempt, s.pid) for s in starts}
    stale = bad_rows = bad_lease = unlogged = open_rows = 0
    for j in snap.jobs.values():
        rows = att_by_job.get(j.id, [])
        succ = [a for a in rows if a.outcome == "success"]
        if j.status in ("SUCCESS", "DEAD", "CANCELLED"):
            open_here = [a for a in rows if a.finished_at is None or a.outcome is None]
            if open_here:
                open_rows += 1
                if open_rows <= 3:
                    rep.fail("open_attempt", f"job {j.id} is {j.status} with {len(open_here)} open attempt row(s)")
        if j.status != "SUCCESS":
            continue
        if len(succ) != 1:
            bad_rows += 1
            if bad_rows <= 3:
                rep.fail("success_rows", f"job {j.id} has {len(succ)} success attempt rows")
            continue
        if succ[0].lease != j.lease:
            bad_lease += 1
            if bad_lease <= 3:
                rep.fail("success_lease", f"job {j.id}: success row lease {succ[0].lease} != job lease {j.lease}")
        try:
            res = json.loads((j.result or b"").decode())
            r_job, r_att, r_pid = str(res["job"]), int(res["attempt"]), int(res["pid"])
        except (ValueError, KeyError, TypeError) as e:
            stale += 1
            rep.fail("stale_completion", f"job {j.id}: result is not ours: {e}")
            continue
        if r_job != j.id or r_att != j.attempt or succ[0].attempt != j.attempt:
            stale += 1
            if stale <= 3:
                rep.fail(
                    "stale_completion",
                    f"job {j.id}: result from job {r_job} attempt {r_att}, job attempt {j.attempt}, "
                    f"success row attempt {succ[0].attempt}",
                )
            continue
        if (j.id, r_att, r_pid) not in ok_finishes or (j.id, r_att, r_pid) not in start_keys:
            unlogged += 1
            if unlogged <= 3:
                rep.fail("result_unlogged", f"job {j.id}: result of attempt {r_att} pid {r_pid} has no logged execution")
    for key, n in (("success_rows", bad_rows), ("success_lease", bad_lease), ("stale_completion", stale),
                   ("result_unlogged", unlogged), ("open_attempt", open_rows)):
        if n > 3:
            rep.fail(key, f"... {n} job(s) in all")

    # --- executions and duplicates -----------------------------------------------------------
    starts_by_job: Dict[str, List[Start]] = defaultdict(list)
    for s in starts:
        starts_by_job[s.job_id].append(s)
    raised = {(f.job_id, f.attempt, f.pid): f.t_ns for f in finishes if f.outcome == "raised"}
    kills_sorted = sorted(kills, key=lambda k: k.t_ns)
    deliberate = duplicates = unexplained = 0
    dup_jobs: Set[str] = set()
    too_many = 0
    for jid, ss in starts_by_job.items():
        ss.sort(key=lambda s: s.t_ns)
        if jid in snap.jobs and len(ss) > len(att_by_job.get(jid, [])):
            too_many += 1
            if too_many <= 3:
                rep.fail("starts_exceed_attempts",
                         f"job {jid} started {len(ss)} times but has {len(att_by_job.get(jid, []))} attempt rows")
        for prev, nxt in zip(ss, ss[1:]):
            t_raise = raised.get((prev.job_id, prev.attempt, prev.pid))
            if t_raise is not None and t_raise <= nxt.t_ns:
                deliberate += 1
                continue
            duplicates += 1
            dup_jobs.add(jid)
            if not _explained(prev, nxt, _claim_ns(prev, att_by_job.get(jid, [])), kills_sorted):
                unexplained += 1
                if unexplained <= 5:
                    rep.fail(
                        "unexplained_duplicate",
                        f"job {jid}: attempt {prev.attempt} (pid {prev.pid}, {prev.mode}) started again as attempt "
                        f"{nxt.attempt} (pid {nxt.pid}) {(nxt.t_ns - prev.t_ns) / 1e9:.2f} s later with no kill to explain it",
                    )
    if unexplained > 5:
        rep.fail("unexplained_duplicate", f"... {unexplained} unexplained duplicates in all")
    if snap.orphan_attempts:
        rep.fail("orphan_attempts", f"{snap.orphan_attempts} attempt row(s) without a job")
    if snap.orphan_steps:
        rep.fail("orphan_steps", f"{snap.orphan_steps} step row(s) without a job")
    if sqlite_checks:
        if snap.integrity != "ok":
            rep.fail("integrity", f"PRAGMA integrity_check: {snap.integrity[:300]}")
        if snap.foreign_key_violations != 0:
            rep.fail("foreign_keys", f"PRAGMA foreign_key_check: {snap.foreign_key_violations} row(s)")

    succeeded = sum(1 for j in snap.jobs.values() if j.status == "SUCCESS")
    rep.counts.update(
        {
            "jobs enqueued": len(enq_ids),
            "enqueue replies deduplicated": sum(1 for e in enq if e.deduplicated),
            "jobs in database": len(snap.jobs),
            "jobs succeeded": succeeded,
            "attempt rows": len(snap.attempts),
            "executions (handler starts)": len(starts),
            "retries after a deliberate failure": deliberate,
            "duplicate executions": duplicates,
            "jobs executed more than once (not deliberate)": len(dup_jobs),
            "unexplained duplicates": unexplained,
            "stale completions": stale,
            "orphan attempt/step rows": snap.orphan_attempts + snap.orphan_steps,
        }
    )
    by_kind: Dict[str, int] = defaultdict(int)
    for k in kills:
        by_kind[k.kind] += 1
    for kind in ("sidecar", "worker-remote", "worker-embedded"):
        rep.counts[f"kills: {kind}"] = by_kind.get(kind, 0)
    return rep


def _claim_ns(a: Start, rows: List[DbAttempt]) -> int:
    """When the execution's lease was granted: the latest attempt row of its attempt number that
    started (claim time, ms) no later than the execution. A remote execution can start after the
    sidecar that claimed it for the worker was killed (the job was already on the wire)."""
    claims = [
        r.started_at * 1_000_000
        for r in rows
        if r.attempt == a.attempt and r.started_at * 1_000_000 <= a.t_ns + 1_000_000
    ]
    return min(a.t_ns, max(claims)) if claims else a.t_ns


def _explained(a: Start, b: Start, claim_ns: int, kills: List[Kill]) -> bool:
    """A kill between the earlier execution and the later start: of the process that ran it
    (from its start on), or of the sidecar a remote execution went through (from its claim on)."""
    for k in kills:
        if k.t_ns > b.t_ns:
            break
        if k.pid == a.pid and k.t_ns >= a.t_ns:
            return True
        if k.kind == "sidecar" and a.mode == "remote" and k.t_ns >= claim_ns:
            return True
    return False


# --- proving that the checks can fail --------------------------------------------------------

Mutation = Tuple[str, str, Callable[[str], None], Optional[str]]


def _edit_lines(path: str, keep: Callable[[str], bool], extra: List[str]) -> None:
    with open(path) as f:
        lines = [ln for ln in f.read().split("\n") if ln]
    with open(path, "w") as f:
        for ln in lines:
            if keep(ln):
                f.write(ln + "\n")
        for ln in extra:
            f.write(ln + "\n")


def prove_checks(
    run_dir: str,
    backend: str,
    db_path: Optional[str] = None,
    psql_url: Optional[str] = None,
    schema: Optional[str] = None,
) -> Tuple[int, int, List[str]]:
    """Applies each fault to a scratch copy and verifies it. Returns (detected, tried, lines)."""
    base = load_sqlite(db_path or "") if backend == "sqlite" else load_postgres(psql_url or "", schema or "")
    if not base.jobs:
        return 0, 0, ["no jobs to mutate"]
    starts, _, _ = read_effects(os.path.join(run_dir, "effects.log"))
    kills, _ = read_kills(os.path.join(run_dir, "kills.log"))
    x = sorted(base.jobs)[len(base.jobs) // 2]
    by_job: Dict[str, List[Start]] = defaultdict(list)
    for s in starts:
        by_job[s.job_id].append(s)
    multi = next((j for j in sorted(by_job) if len(by_job[j]) > 1), None)
    x_first = min((s.t_ns for s in by_job.get(x, [])), default=0)
    ghost = "00000000-0000-7000-8000-000000000000"

    sql_faults: List[Tuple[str, str, str]] = [
        ("delete a job", f"DELETE FROM reseolio_jobs WHERE id = '{x}'", "lost"),
        ("rename a job", f"UPDATE reseolio_jobs SET id = '{ghost}' WHERE id = '{x}'", "phantom"),
        ("a job left FAILED", f"UPDATE reseolio_jobs SET status = 'FAILED' WHERE id = '{x}'", "not_success"),
        ("result of an older attempt", f"UPDATE reseolio_jobs SET attempt = attempt + 1 WHERE id = '{x}'", "stale_completion"),
        ("a second success row",
         "INSERT INTO reseolio_attempts (job_id, attempt, lease, worker_id, node_id, started_at, finished_at, outcome) "
         f"VALUES ('{x}', 1, 999999, 'w', 'n', 0, 0, 'success')", "success_rows"),
        ("success row of another lease", f"UPDATE reseolio_attempts SET lease = lease + 1000 WHERE job_id = '{x}' AND outcome = 'success'", "success_lease"),
        ("an attempt left open", f"UPDATE reseolio_attempts SET finished_at = NULL WHERE job_id = '{x}' AND outcome = 'success'", "open_attempt"),
        ("an orphan attempt",
         "INSERT INTO reseolio_attempts (job_id, attempt, lease, worker_id, node_id, started_at) "
         f"VALUES ('{ghost}', 1, 1, 'w', 'n', 0)", "orphan_attempts"),
        ("an orphan step",
         "INSERT INTO reseolio_steps (job_id, seq, name, kind, status, attempts, started_at) "
         f"VALUES ('{ghost}', 0, 's', 'run', 'SUCCESS', 1, 0)", "orphan_steps"),
    ]
    if multi is not None:
        sql_faults.append(("attempt rows of a re-run job deleted",
                           f"DELETE FROM reseolio_attempts WHERE job_id = '{multi}' AND outcome <> 'success'",
                           "starts_exceed_attempts"))
    log_faults: List[Tuple[str, str, Callable[[str], None]]] = [
        ("an enqueue line dropped", "phantom",
         lambda d: _edit_lines(os.path.join(d, "enqueued.log"), lambda ln: f" {x} " not in ln, [])),
        ("a fake earlier execution", "unexplained_duplicate",
         lambda d: _edit_lines(os.path.join(d, "effects.log"), lambda ln: True,
                               [f"S {x} 1 4194000 {x_first - 1} embedded"])),
        ("the successful execution unlogged", "result_unlogged",
         lambda d: _edit_lines(os.path.join(d, "effects.log"), lambda ln: not (ln.startswith("F ") and f" {x} " in ln), [])),
        ("a torn log line", "malformed_log",
         lambda d: _edit_lines(os.path.join(d, "effects.log"), lambda ln: True, ["S 12ab"])),
    ]
    dup_explained = [
        j for j, ss in by_job.items() if len(ss) > 1
    ]
    if kills and dup_explained:
        log_faults.append(("the kills forgotten", "unexplained_duplicate",
                           lambda d: _edit_lines(os.path.join(d, "kills.log"), lambda ln: False, [])))

    out: List[str] = []
    detected = tried = 0
    scratch_root = os.path.join(run_dir, "prove")
    os.makedirs(scratch_root, exist_ok=True)

    def fresh_logs(name: str) -> str:
        d = os.path.join(scratch_root, name.replace(" ", "_"))
        os.makedirs(d, exist_ok=True)
        for f in ("effects.log", "enqueued.log", "kills.log"):
            src = os.path.join(run_dir, f)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(d, f))
        return d

    def copy_db(sql: Optional[str], corrupt: bool = False) -> Snapshot:
        if backend == "sqlite":
            assert db_path is not None
            dst = os.path.join(scratch_root, "copy.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(dst + suffix):
                    os.remove(dst + suffix)
            src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            d = sqlite3.connect(dst)
            src.backup(d)
            src.close()
            d.execute("PRAGMA journal_mode = DELETE")
            if sql:
                d.execute(sql)
                d.commit()
            d.close()
            if corrupt:
                _corrupt_sqlite(dst)
            return load_sqlite(dst)
        assert psql_url is not None and schema is not None
        s2 = f"{schema}_prove"
        q = quote_ident(s2)
        stmts = [f"DROP SCHEMA IF EXISTS {q} CASCADE", f"CREATE SCHEMA {q}"]
        for t in ("reseolio_jobs", "reseolio_attempts", "reseolio_steps"):
            stmts.append(f"CREATE TABLE {q}.{t} AS TABLE {quote_ident(schema)}.{t}")
        psql(psql_url, "; ".join(stmts))
        try:
            if sql:
                psql(psql_url, _pg_sql(s2, sql))
            return load_postgres(psql_url, s2)
        finally:
            psql(psql_url, f"DROP SCHEMA IF EXISTS {q} CASCADE")

    def record(name: str, expect: str, rep: Report) -> None:
        nonlocal detected, tried
        tried += 1
        ok = expect in rep.keys()
        detected += ok
        out.append(f"  {'detected' if ok else 'MISSED  '} {name:<38} -> {expect}" + ("" if ok else f" (got {sorted(rep.keys())})"))

    for name, sql, expect in sql_faults:
        record(name, expect, verify(copy_db(sql), run_dir, backend == "sqlite"))
    for name, expect, edit in log_faults:
        d = fresh_logs(name)
        edit(d)
        record(name, expect, verify(base, d, backend == "sqlite"))
    if backend == "sqlite":
        record("a corrupted page", "integrity", verify(copy_db(None, corrupt=True), run_dir, True))
    shutil.rmtree(scratch_root, ignore_errors=True)
    return detected, tried, out


def _corrupt_sqlite(path: str) -> None:
    """Breaks the b-tree of one index: its root page gets an invalid page type byte."""
    c = sqlite3.connect(path)
    page_size = int(c.execute("PRAGMA page_size").fetchone()[0])
    root = int(c.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = 'reseolio_jobs_status_created'"
    ).fetchone()[0])
    c.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x01")
