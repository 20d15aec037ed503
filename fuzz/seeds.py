#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: small, valid inputs written by hand.

The protobuf messages are encoded here by hand (no protobuf package needed); the field numbers
are those of proto/reseolio.proto. Run from anywhere: `python3 fuzz/seeds.py`. The seeds are
committed, so this only needs running again when they change.
"""

import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """One field: int -> varint, str/bytes -> length-delimited, float -> fixed32."""
    if isinstance(value, bool):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, float):
        return varint(num << 3 | 5) + struct.pack("<f", value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields)


def delimited(*messages):
    return b"".join(varint(len(m)) + m for m in messages)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# cron: expression, zone, after_ms, window_ms (one a line).
for name, text in {
    "every-15-min": "*/15 * * * *\nUTC\n1780000000000\n86400000",
    "gap-new-york": "30 2 * * *\nAmerica/New_York\n1772928000000\n172800000",
    "fold-new-york": "30 1 * * *\nAmerica/New_York\n1793505600000\n172800000",
    "hourly-fold": "0 * * * *\nAmerica/New_York\n1793512800000\n7200000",
    "vixie-or": "0 0 13 * FRI\nEurope/Paris\n1780000000000\n2592000000",
    "leap-day": "0 0 29 2 *\nUTC\n1780000000000\n31622400000",
    "six-fields": "*/10 30 9-17/2 1,15 JAN-MAR mon-fri\nAsia/Kolkata\n1780000000000\n86400000",
    "samoa-skipped-day": "0 12 * * *\nPacific/Apia\n1325160000000\n172800000",
    "lord-howe-half-hour": "@hourly\nAustralia/Lord_Howe\n1775318400000\n86400000",
    "sunday-7": "0 0 * * 7\nUTC\n-62135596800000\n604800000",
    "yearly-far": "@yearly\nUTC\n8210266876799000\n31622400000",
    "step-from-value": "5/20 */6 ? * 1-5/2\nAsia/Tokyo",
    "bad-macro": "@reboot",
    "bad-range": "0 0 30 2 *\nUTC",
    "bad-zone": "0 0 * * *\nMars/Olympus",
}.items():
    write("cron", name, text)

# storage_url: the URL, then (grpc) a token on a second line.
for name, text in {
    "sqlite-relative": "sqlite://./reseolio.db",
    "sqlite-absolute-full": "sqlite:///tmp/a.db?durability=full",
    "sqlite-memory": "sqlite::memory:",
    "sqlite-memory-query": "sqlite://:memory:?durability=normal",
    "sqlite-dot-relative": "sqlite:///./x.db",
    "sqlite-unknown-param": "sqlite://a.db?cache=shared&durability=full",
    "postgres-full": "postgres://app:s3cr@t@db:5432/jobs?schema=reseolio&max_connections=4&sslmode=disable",
    "postgresql-schema": "postgresql://localhost/test?schema=tenant_1",
    "postgres-bad-schema": "postgres://u@h/db?schema=Bad-Name&max_connections=0",
    "grpc-token": "grpc://127.0.0.1:50051\nsecret-token",
    "grpc-ipv6": "grpc://[::1]:50051",
    "grpc-path": "grpc://host:1/path",
    "other-scheme": "mysql://root:pw@localhost/db",
}.items():
    write("storage_url", name, text)

# job_options: names as text, and wire EnqueueRequests.
for name, text in {
    "backoff": "exponential",
    "backoff-case": "Linear",
    "status": "pending",
    "missed": "run_latest",
    "overlap": "skip",
    "schedule-status": "Paused",
    "durability": "FULL",
    "error-kind": "invalid_argument",
    "attempt-outcome": "timed_out",
    "event-lease-lost": "c:0190f1c2-job:3",
    "event-finished": "f:0190f1c2-job",
    "lease-token": "0190f1c2-job/7",
    "lease-token-negative": "a/b/-12",
}.items():
    write("job_options", name, text)
options = msg(
    (1, 5), (2, "linear"), (3, 250), (4, 10000), (5, 1000), (6, 0.5), (7, -3), (9, 60000)
)
write("job_options", "enqueue-options", msg((1, "send-email"), (2, b"[1]"), (3, options), (4, "k1")))
write(
    "job_options",
    "enqueue-zero-fields",
    msg((1, "f"), (3, msg((10, "max_attempts"), (10, "jitter"), (10, "run_at"), (8, 0)))),
)
write("job_options", "enqueue-run-at", msg((1, "f"), (3, msg((8, 1780000000000), (2, "FIXED")))))
write("job_options", "enqueue-bad-zero-field", msg((1, "f"), (3, msg((10, "backoff")))))

# grpc: [rpc][flags][request]. Flags: 1 claim a job, 2 its lease token, 4 a real job id,
# 8 the schedule fuzz-schedule.
CLAIM, TOKEN, JOB, SCHEDULE = 1, 2, 4, 8


def rpc(name, number, flags, body):
    write("grpc", name, bytes([number, flags]) + body)


rpc("enqueue", 0, 0, msg((1, "send-email"), (2, b"[1]"), (3, options), (4, "k1")))
rpc("enqueue-zero", 0, 0, msg((1, "f"), (3, msg((10, "priority"), (10, "delay_ms")))))
rpc("ack-success", 1, CLAIM | TOKEN | JOB, msg((2, msg((1, True), (2, b"ok")))))
rpc("ack-retry", 1, CLAIM | TOKEN, msg((2, msg((3, "boom"), (4, True)))))
rpc("ack-suspended", 1, CLAIM | TOKEN, msg((2, msg((5, True)))))
rpc("ack-v1-unheld", 1, CLAIM | JOB, msg((2, msg((1, True)))))
rpc("get-job", 2, JOB, b"")
rpc("get-job-unknown", 2, 0, msg((1, "nope")))
rpc("cancel-running", 3, CLAIM | JOB, b"")
rpc("cancel-pending", 3, JOB, b"")
rpc("retry-running", 4, CLAIM | JOB, b"")
rpc(
    "list-jobs",
    5,
    0,
    msg((1, 1), (1, 2), (2, "send-email"), (3, 10), (5, "scheduled_at"), (6, True), (7, "mail")),
)
rpc(
    "create-schedule",
    6,
    0,
    msg(
        (1, "nightly"),
        (2, "0 3 * * *"),
        (3, "Europe/Paris"),
        (4, msg((1, 2))),
        (5, b"{}"),
        (7, "skip"),
        (8, "skip"),
    ),
)
rpc("create-schedule-fuzz", 6, SCHEDULE, msg((2, "@daily")))
rpc("get-schedule", 7, 0, msg((1, "nightly")))
rpc("list-schedules", 8, 0, msg((1, "active"), (2, 10)))
rpc(
    "update-schedule",
    9,
    SCHEDULE,
    msg((2, "*/5 * * * *"), (3, "Asia/Tokyo"), (4, msg((5, 500))), (5, b""), (6, "run_latest")),
)
rpc("pause-schedule", 10, SCHEDULE, b"")
rpc("resume-schedule", 11, SCHEDULE, b"")
rpc("delete-schedule", 12, 0, msg((1, "nightly")))
rpc("heartbeat", 13, CLAIM | TOKEN, b"")
rpc("heartbeat-malformed", 13, 0, msg((1, "no-slash")))
rpc("list-attempts", 14, CLAIM | JOB, b"")
rpc("get-leader", 15, 0, b"")
rpc("trigger-schedule", 16, SCHEDULE, b"")
rpc("list-steps", 17, CLAIM | JOB, b"")
rpc(
    "record-step",
    18,
    CLAIM | TOKEN,
    msg((2, 0), (3, "charge"), (4, b"42"), (6, 1), (7, 1780000000000)),
)
rpc("record-step-error", 18, CLAIM | TOKEN, msg((2, 0), (3, "charge"), (5, "declined"), (6, 3)))
rpc("wait-sleep", 19, CLAIM | TOKEN, msg((2, 0), (3, "sleep"), (4, 1)))
rpc("wait-event", 19, CLAIM | TOKEN, msg((2, 0), (3, "event:paid"), (5, msg((1, "paid"), (2, 1)))))
rpc("wait-child", 19, CLAIM | TOKEN, msg((2, 0), (3, "child"), (6, "nope")))
rpc("send-event", 20, 0, msg((1, "paid"), (2, b"{}")))
rpc(
    "poll-jobs",
    21,
    0,
    delimited(
        msg((1, "w1"), (2, "send-email"), (3, 2)),
        msg((2, "fuzz-pending")),
    ),
)
rpc("poll-jobs-bad-name", 21, 0, delimited(msg((3, 1)), msg((2, ""))))
rpc("subscribe", 22, JOB, delimited(msg((1, "nope"))))
rpc("subscribe-unsubscribe", 22, 0, delimited(msg((1, "a"), (1, "b")), msg((1, "a"), (2, True))))
