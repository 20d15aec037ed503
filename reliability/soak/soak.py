"""Soak test: a steady mixed workload for a while, watching memory and descriptors per process.

Processes (each a real OS process): a ``reseolio`` sidecar on the database, a worker connected
to it (``grpc://``), a worker embedding the engine on the same database (SQLite file by default;
``--backend postgres`` uses ``RESEOLIO_TEST_POSTGRES_URL`` with a fresh schema), and a producer
enqueueing through the sidecar at a steady rate: plain jobs, jobs that fail their first attempt
and retry, jobs with recurring idempotency keys, delayed jobs, and a cron schedule firing every
2 s; every result is awaited.

Every ``--sample-interval`` seconds it reads each process's ``VmRSS`` (``/proc/PID/status``) and
descriptor count (entries of ``/proc/PID/fd``) and writes them to ``samples.csv`` in ``--out``.

The rule (per process; samples after ``--warmup`` seconds, default 25 % of the run, at least
10 s):

- memory grows without bound when BOTH the least-squares slope over the second half of the
  samples exceeds ``--max-rss-slope`` MB/h AND the median of the last third exceeds the median
  of the first third by more than ``--rss-margin-mb`` MB and ``--rss-margin-pct`` percent. A
  leak raises both; allocator noise (a one-off step, a sawtooth) rarely raises both.
- descriptors must be flat: the median of the last third may exceed that of the first third by
  at most ``--fd-tolerance`` (default 6: a SQLite read pool that fills up late adds 2 per
  connection, up to 4 kept), and no sample after warm-up may exceed the warm-up's maximum by
  more than ``4 * --fd-tolerance`` (sockets and read connections come and go).

A short run (the CI's 60 s) can only catch a gross leak; the slope per hour is printed for every
process so that longer runs (``--duration 3600``) can be judged on it. The workload must also be
served: every awaited result arrives and is right, and the schedule fires. ``--inject-leak``
makes the workers leak (64 KiB per job, a descriptor per 5 jobs) to show that the rule fails;
``rule_self_test`` checks the rule on synthetic series at every run.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from types import FrameType
from typing import IO, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = os.path.join(HERE, "soak_roles.py")
REPO = os.path.dirname(os.path.dirname(HERE))


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the start of the workload
    rss_kb: int
    fds: int


@dataclass(frozen=True)
class Rule:
    warmup: float
    max_rss_slope_mb_h: float
    rss_margin_mb: float
    rss_margin_pct: float
    fd_tolerance: int


@dataclass
class Verdict:
    name: str
    start_rss_kb: int
    warm_rss_kb: int
    end_rss_kb: int
    rss_slope_mb_h: float
    rss_slope2_mb_h: float
    rss_third_growth_mb: float
    start_fds: int
    warm_fds: int
    end_fds: int
    fd_slope_h: float
    fd_third_growth: float
    problems: List[str]


def slope(points: Sequence[Tuple[float, float]]) -> float:
    """Least-squares slope (y per unit of x); 0 for fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


def judge(name: str, samples: List[Sample], rule: Rule) -> Verdict:
    after = [s for s in samples if s.t >= rule.warmup]
    warm = [s for s in samples if s.t < rule.warmup]
    problems: List[str] = []
    if len(after) < 6:
        problems.append(f"only {len(after)} samples after warm-up (need 6)")
        after = samples
    k = max(1, len(after) // 3)
    first, last = after[:k], after[-k:]
    second_half = after[len(after) // 2:]
    rss_slope = slope([(s.t, s.rss_kb / 1024.0) for s in after]) * 3600
    rss_slope2 = slope([(s.t, s.rss_kb / 1024.0) for s in second_half]) * 3600
    med_first = statistics.median(s.rss_kb for s in first) / 1024.0
    med_last = statistics.median(s.rss_kb for s in last) / 1024.0
    growth = med_last - med_first
    if (
        rss_slope2 > rule.max_rss_slope_mb_h
        and growth > rule.rss_margin_mb
        and growth > med_first * rule.rss_margin_pct / 100.0
    ):
        problems.append(
            f"memory grows: {rss_slope2:.0f} MB/h over the second half, last-third median "
            f"{growth:+.1f} MB over the first third's"
        )
    fd_first = statistics.median(s.fds for s in first)
    fd_last = statistics.median(s.fds for s in last)
    if fd_last - fd_first > rule.fd_tolerance:
        problems.append(f"descriptors grow: last-third median {fd_last:g} vs first-third {fd_first:g}")
    warm_max = max((s.fds for s in warm), default=after[0].fds)
    peak = max(s.fds for s in after)
    if peak > warm_max + 4 * rule.fd_tolerance:
        problems.append(f"descriptors peak at {peak} after warm-up (warm-up max {warm_max})")
    return Verdict(
        name=name,
        start_rss_kb=samples[0].rss_kb,
        warm_rss_kb=after[0].rss_kb,
        end_rss_kb=samples[-1].rss_kb,
        rss_slope_mb_h=rss_slope,
        rss_slope2_mb_h=rss_slope2,
        rss_third_growth_mb=growth,
        start_fds=samples[0].fds,
        warm_fds=after[0].fds,
        end_fds=samples[-1].fds,
        fd_slope_h=slope([(s.t, float(s.fds)) for s in after]) * 3600,
        fd_third_growth=fd_last - fd_first,
        problems=problems,
    )


def rule_self_test(rule: Rule, duration: float, interval: float) -> List[str]:
    """The rule on synthetic series shaped like this run: flat with noise and a one-off step
    must pass; a steady leak of memory or of descriptors must fail. Returns the failures."""
    rng = random.Random(7)
    ts = [i * interval for i in range(int(duration / interval) + 1)]
    base = 60_000

    def series(rss: List[float], fds: List[int]) -> List[Sample]:
        return [Sample(t, int(r), f) for t, r, f in zip(ts, rss, fds)]

    n = len(ts)
    flat = series([base + rng.uniform(-2000, 2000) for _ in ts], [20 + rng.choice((0, 0, 1)) for _ in ts])
    step = series([base + (6000 if t > duration / 2 else 0) + rng.uniform(-500, 500) for t in ts], [20] * n)
    # A leak the size of --inject-leak's: ~64 KiB a job at ~15 jobs/s is ~1 MB/s.
    leak = series([base + 1000 * t + rng.uniform(-2000, 2000) for t in ts], [20] * n)
    fdleak = series([base] * n, [20 + int(t) for t in ts])  # a descriptor a second
    out = []
    for name, s, should_fail in (("flat", flat, False), ("step", step, False), ("leak", leak, True), ("fd leak", fdleak, True)):
        failed = bool(judge(name, s, rule).problems)
        if failed != should_fail:
            out.append(f"rule self-test: {name} series {'failed' if failed else 'passed'}, expected the opposite")
    return out


# --- processes -------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    os.setsid()
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def spawn(cmd: Sequence[str], log_path: str) -> "subprocess.Popen[bytes]":
    log: IO[bytes] = open(log_path, "ab")
    try:
        return subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_child_setup)
    finally:
        log.close()


def stop(p: "subprocess.Popen[bytes]", grace: float) -> Optional[int]:
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if p.poll() is None:
        p.kill()
        p.wait(timeout=10)
        return None
    return p.returncode


def read_proc(pid: int) -> Optional[Tuple[int, int]]:
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of workload (default 60)")
    p.add_argument("--rate", type=float, default=15.0, help="jobs enqueued per second")
    p.add_argument("--sample-interval", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=None, help="seconds ignored by the rule (default 25%%, >= 10 s)")
    p.add_argument("--max-rss-slope", type=float, default=50.0, help="MB/h over the second half")
    p.add_argument("--rss-margin-mb", type=float, default=8.0)
    p.add_argument("--rss-margin-pct", type=float, default=10.0)
    p.add_argument("--fd-tolerance", type=int, default=6, help="descriptors a pool may add after warm-up")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--out", default=None, help="dir for samples.csv and the logs (default: a temp dir)")
    p.add_argument("--sidecar-bin", default=None)
    p.add_argument("--inject-leak", action="store_true", help="workers leak on purpose: the run must fail")
    a = p.parse_args(argv)
    sidecar_bin = a.sidecar_bin or os.environ.get("RESEOLIO_SIDECAR_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target"), "debug", "reseolio")
    warmup = a.warmup if a.warmup is not None else max(10.0, a.duration * 0.25)
    rule = Rule(warmup, a.max_rss_slope, a.rss_margin_mb, a.rss_margin_pct, a.fd_tolerance)
    out = a.out or tempfile.mkdtemp(prefix="reseolio-soak-")
    os.makedirs(out, exist_ok=True)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    problems = rule_self_test(rule, a.duration, a.sample_interval)
    schema: Optional[str] = None
    psql_url = ""
    if a.backend == "postgres":
        base = os.environ.get("RESEOLIO_TEST_POSTGRES_URL")
        if not base:
            print("soak on postgres: skipped (RESEOLIO_TEST_POSTGRES_URL is unset)")
            return 0
        schema = f"soak_{os.getpid()}"
        parts = urllib.parse.urlsplit(base)
        q = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in ("schema", "max_connections")]
        psql_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))
        db_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q + [("schema", schema)])))
    else:
        db_path = os.path.join(out, "soak.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db_path + suffix):
                os.remove(db_path + suffix)
        db_url = f"sqlite://{db_path}"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    py = sys.executable
    grpc = f"grpc://127.0.0.1:{port}"
    stats_path = os.path.join(out, "producer-stats.json")
    leak = ["--leak"] if a.inject_leak else []
    procs: Dict[str, "subprocess.Popen[bytes]"] = {}
    t_wall = time.monotonic()
    samples: Dict[str, List[Sample]] = {}
    try:
        log = os.path.join(out, "sidecar.log")
        procs["sidecar"] = spawn([sidecar_bin, "--db", db_url, "--addr", f"127.0.0.1:{port}"], log)
        deadline = time.monotonic() + 20
        while b"ready on" not in open(log, "rb").read():
            if time.monotonic() > deadline or procs["sidecar"].poll() is not None:
                raise RuntimeError(f"the sidecar did not start; see {log}")
            time.sleep(0.05)
        procs["worker-remote"] = spawn([py, ROLES, "worker", "--url", grpc, *leak], os.path.join(out, "worker-remote.log"))
        procs["worker-embedded"] = spawn([py, ROLES, "worker", "--url", db_url, *leak], os.path.join(out, "worker-embedded.log"))
        t0 = time.monotonic()
        until = time.time() + a.duration
        procs["producer"] = spawn([py, ROLES, "producer", "--url", grpc, "--rate", str(a.rate), "--until", f"{until:.3f}",
                                   "--stats", stats_path], os.path.join(out, "producer.log"))
        print(f"soak: {a.duration:.0f} s at {a.rate:g} jobs/s on {a.backend}, sampling every {a.sample_interval:g} s "
              f"into {out}/samples.csv", flush=True)
        with open(os.path.join(out, "samples.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s", "process", "pid", "rss_kb", "fds"])
            next_t = t0
            while time.monotonic() - t0 <= a.duration:
                t = time.monotonic() - t0
                for name, pr in procs.items():
                    if name == "producer" and pr.poll() is not None:
                        continue
                    if pr.poll() is not None:
                        problems.append(f"{name} exited early with {pr.returncode}")
                        continue
                    got = read_proc(pr.pid)
                    if got is None or got[0] == 0:
                        continue  # gone, or caught mid-exec (no VmRSS yet)
                    samples.setdefault(name, []).append(Sample(t, got[0], got[1]))
                    w.writerow([f"{t:.2f}", name, pr.pid, got[0], got[1]])
                f.flush()
                if any(p.startswith(("sidecar", "worker")) and "exited early" in p for p in problems):
                    break
                next_t += a.sample_interval
                time.sleep(max(0.0, next_t - time.monotonic()))
        rc = procs["producer"].wait(timeout=90)
        if rc != 0:
            problems.append(f"the producer exited with {rc}; see {out}/producer.log")
        for name in ("worker-remote", "worker-embedded", "sidecar"):
            if stop(procs[name], 15.0) != 0:
                problems.append(f"{name} did not stop cleanly")
    except KeyboardInterrupt as e:
        print(f"interrupted ({e}); stopping every process")
        return 130
    finally:
        for pr in procs.values():
            if pr.poll() is None:
                pr.kill()
                pr.wait(timeout=10)
        if schema is not None:
            subprocess.run(["psql", "-X", "-q", "-d", psql_url, "-c", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'],
                           capture_output=True, timeout=30)

    stats: Dict[str, int] = {}
    try:
        with open(stats_path) as sf:
            stats = json.load(sf)
    except (OSError, ValueError):
        problems.append("the producer wrote no stats")
    if stats:
        awaited = stats["results_ok"] + stats["results_failed"] + stats["results_wrong"] + stats["await_timeouts"]
        if awaited != stats["enqueued"]:
            problems.append(f"{stats['enqueued']} enqueued but {awaited} results awaited")
        if stats["results_ok"] != stats["enqueued"]:
            problems.append(f"results: {stats['results_ok']} right of {stats['enqueued']} "
                            f"({stats['results_failed']} failed, {stats['results_wrong']} wrong, "
                            f"{stats['await_timeouts']} timed out)")
        if stats.get("ticks_succeeded", 0) < a.duration / 2 * 0.5:
            problems.append(f"the 2 s cron schedule ran {stats.get('ticks_succeeded', 0)} jobs in {a.duration:.0f} s")
        if stats["deduplicated"] == 0:
            problems.append("no enqueue was deduplicated: the idempotency keys were not exercised")

    verdicts = [judge(name, ss, rule) for name, ss in samples.items() if ss]
    wall = time.monotonic() - t_wall
    print("\n----- soak summary -----")
    print(f"  backend {a.backend}, workload {a.duration:.0f} s, wall {wall:.1f} s, warm-up {warmup:.0f} s, "
          f"{sum(len(s) for s in samples.values())} samples, rule: RSS slope(2nd half) > {a.max_rss_slope:g} MB/h "
          f"and last-third median > first-third + max({a.rss_margin_mb:g} MB, {a.rss_margin_pct:g}%); "
          f"fds last-third median <= first-third + {a.fd_tolerance}")
    if stats:
        print("  workload: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    hdr = (f"  {'process':<16} {'RSS start':>9} {'at warm':>8} {'end':>8} {'MB/h':>8} {'MB/h 2nd':>9} {'3rds MB':>8} "
           f"{'fd start':>8} {'at warm':>7} {'end':>5} {'fd/h':>6} {'fd 3rds':>7}  verdict")
    print(hdr)
    for v in verdicts:
        print(f"  {v.name:<16} {v.start_rss_kb / 1024:>7.1f}MB {v.warm_rss_kb / 1024:>6.1f}MB {v.end_rss_kb / 1024:>6.1f}MB "
              f"{v.rss_slope_mb_h:>8.1f} {v.rss_slope2_mb_h:>9.1f} {v.rss_third_growth_mb:>+8.1f} {v.start_fds:>8} "
              f"{v.warm_fds:>7} {v.end_fds:>5} {v.fd_slope_h:>6.0f} {v.fd_third_growth:>+7.1f}  "
              f"{'ok' if not v.problems else 'GROWS'}")
        for pr_ in v.problems:
            problems.append(f"{v.name}: {pr_}")
    print("  (RSS in MB; MB/h and fd/h: least-squares slopes after warm-up; 3rds: last-third median minus "
          "first-third median)")
    print(f"  samples: {out}/samples.csv")
    for pr_ in problems:
        print(f"  [violation] {pr_}")
    ok = not problems
    print(f"  RESULT: {'PASS' if ok else 'FAIL'}", flush=True)
    if ok and a.out is None:
        # Keep the CSV: it is the output. Remove only the bulky database.
        for suffix in ("", "-wal", "-shm"):
            path = os.path.join(out, "soak.db" + suffix)
            if os.path.exists(path):
                os.remove(path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
