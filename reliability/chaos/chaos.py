"""Chaos test: real processes, SIGKILLs, and a check of what the database and the logs show.

For each backend (SQLite, and PostgreSQL when ``RESEOLIO_TEST_POSTGRES_URL`` is set):

1. Starts a ``reseolio`` sidecar on the database (``RESEOLIO_SIDECAR_BIN``, default
   ``$CARGO_TARGET_DIR/debug/reseolio``), three Python worker processes connected to it over
   ``grpc://``, and a producer enqueueing through it. On PostgreSQL, also one worker and one
   producer that embed the engine on the PostgreSQL URL (several nodes, one database). Each run
   has its own temp dir (and its own PostgreSQL schema).
2. For ``--duration`` seconds (default 50; ``--long`` is 30 minutes and requires 200 kills),
   every 1 to 4 s (random) SIGKILLs a random worker or the sidecar and restarts it at once (the
   sidecar on the same port). Each kill is logged with its kind, pid and time (taken after the
   process was reaped, so it bounds the moment of death from above).
3. Stops killing, lets the producers finish, waits (bounded) until every enqueued job is
   SUCCESS, stops every process, then runs ``chaos_verify.verify`` on the database and the
   logs, and ``prove_checks`` (each check must catch a fault injected into a scratch copy).
4. Prints a summary block and exits non-zero on any violation.

Job options (``chaos_roles.JOB_OPTIONS``): 100 attempts, backoff 0.1 s doubling to 1 s, a 3 s
lease. Recovery after a SIGKILL (docs/durability.md): a dead embedded node or sidecar is found by
pid at the next maintenance pass of a live node on this host (~1 s; a restarted sidecar finds its
predecessor at its first pass); a killed remote worker's jobs stay leased by the sidecar until
the 3 s lease lapses. Every process is killed on exit, also on failure or Ctrl-C (children run
in their own session with PDEATHSIG set, so they die even if this process is SIGKILLed).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Dict, List, Optional, Tuple

from chaos_common import (
    FUNCTION,
    PgTarget,
    append_line,
    free_port,
    kill_and_reap,
    open_append,
    pg_target,
    psql,
    quote_ident,
    read_enqueued,
    spawn,
    wait_for_text,
)
from chaos_verify import load_postgres, load_sqlite, prove_checks, verify

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = os.path.join(HERE, "chaos_roles.py")
REPO = os.path.dirname(os.path.dirname(HERE))


@dataclass
class Proc:
    """A process the orchestrator runs and may kill and restart."""

    name: str
    kind: str  # sidecar | worker-remote | worker-embedded | producer
    cmd: List[str]
    log: str
    popen: Optional["subprocess.Popen[bytes]"] = None
    starts: int = 0

    @property
    def pid(self) -> int:
        return self.popen.pid if self.popen is not None else -1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Cluster:
    run_dir: str
    db_url: str
    sidecar_bin: str
    port: int
    procs: List[Proc] = field(default_factory=list)
    violations: List[Tuple[str, str]] = field(default_factory=list)
    kills_fd: int = -1
    unexpected_exits: int = 0

    def start(self, p: Proc) -> None:
        offset = os.path.getsize(p.log) if os.path.exists(p.log) else 0
        p.popen = spawn(p.cmd, p.log)
        p.starts += 1
        if p.kind == "sidecar":
            if not wait_for_text(p.log, "ready on", offset, p.popen, 20.0):
                raise RuntimeError(f"the sidecar did not become ready (see {p.log})")

    def kill(self, p: Proc) -> None:
        assert p.popen is not None
        pid = p.popen.pid
        kill_and_reap(p.popen)
        # Logged after the reap: the process was dead by this time.
        append_line(self.kills_fd, f"K {p.kind} {p.name} {pid} {time.time_ns()}")

    def check_unexpected(self) -> None:
        """A process we did not kill that exited is a violation; it is restarted."""
        for p in self.procs:
            if p.kind == "producer" or p.popen is None:
                continue
            rc = p.popen.poll()
            if rc is not None:
                self.unexpected_exits += 1
                self.violations.append(("unexpected_exit", f"{p.name} (pid {p.pid}) exited by itself with {rc}; see {p.log}"))
                self.start(p)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.popen is not None:
                kill_and_reap(p.popen)


_CLUSTERS: List[Cluster] = []


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def default_sidecar_bin() -> str:
    env = os.environ.get("RESEOLIO_SIDECAR_BIN")
    if env:
        return env
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.path.join(target, "debug", "reseolio")


def count_done(backend: str, db_path: str, pg: Optional[PgTarget]) -> Tuple[int, int]:
    """(SUCCESS jobs, all jobs) of the chaos function, read from the database."""
    sql = f"SELECT count(*) FILTER (WHERE status = 'SUCCESS'), count(*) FROM reseolio_jobs WHERE name = '{FUNCTION}'"
    if backend == "sqlite":
        c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            row = c.execute(sql).fetchone()
            return int(row[0]), int(row[1])
        finally:
            c.close()
    assert pg is not None
    rows = psql(pg.psql_url, f"SET search_path TO {quote_ident(pg.schema)}; {sql}")
    return int(rows[0][0]), int(rows[0][1])


def run_backend(backend: str, a: argparse.Namespace, rng: random.Random) -> bool:
    t0 = time.monotonic()
    print(f"\n=== chaos on {backend}", flush=True)
    if not os.access(a.sidecar_bin, os.X_OK):
        print(f"FAIL: no sidecar binary at {a.sidecar_bin} (build it: cargo build -p reseolio-sidecar --bin reseolio)")
        return False
    pg: Optional[PgTarget] = None
    if backend == "postgres":
        base = os.environ["RESEOLIO_TEST_POSTGRES_URL"]
        pg = pg_target(base, f"chaos_{os.getpid()}_{rng.randrange(16**6):06x}")
        try:
            psql(pg.psql_url, "SELECT 1", timeout=15)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"FAIL: RESEOLIO_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}", flush=True)
            return False
    run_dir = tempfile.mkdtemp(prefix=f"reseolio-chaos-{backend}-", dir=a.out)
    print(f"run dir {run_dir}" + (f", schema {pg.schema}" if pg else ""), flush=True)
    db_path = os.path.join(run_dir, "chaos.db")
    db_url = pg.engine_url if pg is not None else f"sqlite://{db_path}"
    port = free_port()
    c = Cluster(run_dir, db_url, a.sidecar_bin, port)
    _CLUSTERS.append(c)
    c.kills_fd = open_append(os.path.join(run_dir, "kills.log"))
    py = sys.executable
    grpc = f"grpc://127.0.0.1:{port}"
    effects = os.path.join(run_dir, "effects.log")
    enq_log = os.path.join(run_dir, "enqueued.log")

    def L(name: str) -> str:
        return os.path.join(run_dir, f"{name}.log")

    sidecar = Proc("sidecar", "sidecar", [a.sidecar_bin, "--db", db_url, "--addr", f"127.0.0.1:{port}"], L("sidecar"))
    workers = [
        Proc(f"worker-r{i}", "worker-remote",
             [py, ROLES, "worker", "--url", grpc, "--effects", effects, "--mode", "remote", "--concurrency", "4"],
             L(f"worker-r{i}"))
        for i in range(3)
    ]
    kill_seconds = float(a.duration)
    until = time.time() + 2.0 + kill_seconds
    producers = [
        Proc("producer-r", "producer",
             [py, ROLES, "producer", "--url", grpc, "--log", enq_log, "--name", "pr",
              "--rate", "10" if pg is None else "6", "--until", f"{until:.3f}", "--seed", str(rng.randrange(1 << 30))],
             L("producer-r"))
    ]
    if pg is not None:
        workers.append(
            Proc("worker-e0", "worker-embedded",
                 [py, ROLES, "worker", "--url", pg.engine_url, "--effects", effects, "--mode", "embedded",
                  "--concurrency", "4"], L("worker-e0")))
        producers.append(
            Proc("producer-e", "producer",
                 [py, ROLES, "producer", "--url", pg.engine_url, "--log", enq_log, "--name", "pe",
                  "--rate", "5", "--until", f"{until:.3f}", "--seed", str(rng.randrange(1 << 30))],
                 L("producer-e")))
    c.procs = [sidecar, *workers, *producers]
    ok = False
    try:
        c.start(sidecar)
        for p in workers + producers:
            c.start(p)
        time.sleep(2.0)
        kill_start = time.monotonic()
        kill_end = kill_start + kill_seconds
        print(f"killing for {kill_seconds:.0f} s ({len(workers)} workers, {len(producers)} producer(s), sidecar on {port})", flush=True)
        n_kills = 0
        while True:
            nap = rng.uniform(1.0, 4.0)
            if time.monotonic() + nap > kill_end:
                time.sleep(max(0.0, kill_end - time.monotonic()))
                break
            time.sleep(nap)
            c.check_unexpected()
            victim = sidecar if rng.random() < 0.25 else rng.choice(workers)
            c.kill(victim)
            c.start(victim)
            n_kills += 1
            if a.long and n_kills % 50 == 0:
                print(f"  {n_kills} kills, {time.monotonic() - kill_start:.0f} s", flush=True)
        killing = time.monotonic() - kill_start
        print(f"stopped killing after {killing:.1f} s and {n_kills} kills; draining", flush=True)
        # Producers stop at `until`; one retrying an enqueue gets a few more seconds.
        for p in producers:
            assert p.popen is not None
            try:
                rc = p.popen.wait(timeout=max(5.0, until - time.time() + 20.0))
            except subprocess.TimeoutExpired:
                rc = -1
                kill_and_reap(p.popen)
            if rc != 0:
                c.violations.append(("producer_failed", f"{p.name} exited with {rc}; see {p.log}"))
        enq, _ = read_enqueued(enq_log)
        expected = len({e.job_id for e in enq})
        drain_deadline = time.monotonic() + a.drain_timeout
        done, total = count_done(backend, db_path, pg)
        while time.monotonic() < drain_deadline:
            c.check_unexpected()
            done, total = count_done(backend, db_path, pg)
            if done >= expected and done == total:
                break
            time.sleep(0.5)
        drain = time.monotonic() - (kill_start + killing)
        print(f"drained in {drain:.1f} s: {done} of {total} jobs SUCCESS ({expected} enqueued)", flush=True)
        if not (done >= expected and done == total):
            c.violations.append(("drain_timeout", f"after {a.drain_timeout:.0f} s only {done} of {total} jobs are SUCCESS"))
        # Stop the workers, then the sidecar, gracefully; what does not stop is killed.
        for p in workers + [sidecar]:
            assert p.popen is not None
            if p.popen.poll() is not None:
                c.violations.append(("unexpected_exit", f"{p.name} had exited with {p.popen.returncode}"))
            kill_and_reap(p.popen, term_grace=10.0)
            if p.popen.returncode not in (0,):
                c.violations.append(("unclean_stop", f"{p.name} stopped with {p.popen.returncode}; see {p.log}"))
        snap = load_sqlite(db_path) if pg is None else load_postgres(pg.psql_url, pg.schema)
        rep = verify(snap, run_dir, sqlite_checks=pg is None)
        if a.long and n_kills < 200:
            c.violations.append(("too_few_kills", f"{n_kills} kills, the long form needs at least 200"))
        proof: List[str] = []
        detected = tried = 0
        if not a.no_prove:
            detected, tried, proof = prove_checks(
                run_dir, backend, db_path=db_path if pg is None else None,
                psql_url=pg.psql_url if pg else None, schema=pg.schema if pg else None)
            if detected != tried or tried == 0:
                c.violations.append(("checks_unproven", f"only {detected} of {tried} injected faults were detected"))
        violations = rep.violations + c.violations
        wall = time.monotonic() - t0
        print(f"\n----- chaos summary: {backend} -----")
        print(f"  {'killing time (s)':<48} {killing:.1f}")
        print(f"  {'drain time (s)':<48} {drain:.1f}")
        print(f"  {'wall time (s)':<48} {wall:.1f}")
        print(f"  {'kills (total)':<48} {n_kills}")
        for k, v in rep.counts.items():
            print(f"  {k:<48} {v}")
        print(f"  {'processes exiting unexpectedly':<48} {c.unexpected_exits}")
        print(f"  {'integrity_check / foreign_key_check':<48} "
              + (f"{snap.integrity} / {snap.foreign_key_violations} rows" if pg is None else "n/a (PostgreSQL)"))
        if not a.no_prove:
            print(f"  {'injected faults detected':<48} {detected}/{tried}")
            for line in proof:
                print("  " + line)
        print(f"  {'violations':<48} {len(violations)}")
        for key, msg in violations:
            print(f"    [{key}] {msg}")
        ok = not violations
        print(f"  RESULT: {'PASS' if ok else 'FAIL'} ({backend})", flush=True)
        return ok
    finally:
        c.stop_all()
        os.close(c.kills_fd)
        _CLUSTERS.remove(c)
        keep = a.keep or not ok
        if pg is not None and not keep:
            try:
                psql(pg.psql_url, f"DROP SCHEMA IF EXISTS {quote_ident(pg.schema)} CASCADE")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"could not drop schema {pg.schema}: {e}")
        if keep:
            print(f"kept: {run_dir}" + (f" and schema {pg.schema}" if pg else ""))
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--duration", type=float, default=None, help="seconds of killing per backend (default 50)")
    p.add_argument("--long", action="store_true", help="30 minutes of killing per backend, at least 200 kills")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for every job to finish")
    p.add_argument("--sidecar-bin", default=default_sidecar_bin())
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", default=None, help="parent dir of the per-run temp dir")
    p.add_argument("--keep", action="store_true", help="keep the run dir (and PostgreSQL schema) after a pass")
    p.add_argument("--no-prove", action="store_true", help="skip the injected-fault proof of the checks")
    a = p.parse_args(argv)
    if a.duration is None:
        a.duration = 1800.0 if a.long else 50.0
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    print(f"chaos: seed {seed}, {a.duration:.0f} s of killing per backend, sidecar {a.sidecar_bin}", flush=True)
    rng = random.Random(seed)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    backends = ["sqlite", "postgres"] if a.backend == "both" else [a.backend]
    results: Dict[str, str] = {}
    try:
        for b in backends:
            if b == "postgres" and not os.environ.get("RESEOLIO_TEST_POSTGRES_URL"):
                print("\n=== chaos on postgres: skipped (RESEOLIO_TEST_POSTGRES_URL is unset)", flush=True)
                results[b] = "skipped"
                continue
            results[b] = "PASS" if run_backend(b, a, rng) else "FAIL"
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e}); every process stopped", flush=True)
        return 130
    finally:
        for c in list(_CLUSTERS):
            c.stop_all()
    print("\nchaos: " + ", ".join(f"{b} {r}" for b, r in results.items()), flush=True)
    return 0 if all(r != "FAIL" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
