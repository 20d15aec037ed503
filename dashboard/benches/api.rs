//! The dashboard benchmark: prints one JSON line per figure (see `ci/bench`).
//!
//! A SQLite file with 1,000,000 jobs, served by `reseolio_dashboard::serve` on 127.0.0.1:0 over
//! an `Engine` with the default configuration (its maintenance loop runs), measured over real
//! HTTP/1.1 from one keep-alive connection after a warm-up: p50 and p99, in ms, of
//!
//! - `jobs_list`: `GET /api/jobs?limit=50` (the first page, newest first);
//! - `jobs_deep_page`: `GET /api/jobs?limit=50&offset=5000`;
//! - `jobs_filtered`: `GET /api/jobs?status=DEAD&limit=50`;
//! - `jobs_two_filters`: `GET /api/jobs?status=DEAD&name=fn-3&limit=50`;
//! - `jobs_search`: `GET /api/jobs?search=<an existing idempotency key>`;
//! - `job_page`: `GET /api/jobs/<id>` (a DEAD job with three attempts);
//! - `stats`: `GET /api/stats`;
//! - `index_page`: `GET /`; `metrics`: `GET /metrics`.
//!
//! The requests go round-robin over the endpoints, so that noise from other processes spreads
//! over all of them alike. Then one target line for each figure the dashboard issue sets a
//! target for (jobs list, filtered list, stats: p99 under 50 ms).
//!
//! The database is made quickly: `Engine::open` migrates the schema, the engine is shut down,
//! then the rows go in with plain rusqlite in large transactions. The job-count table is kept
//! by the schema's triggers, so it stays right; the fill checks it. The mix: 20 function names
//! (`fn-0` to `fn-19`, skewed: `fn-0` is the most common), ~90% SUCCESS, ~4% DEAD, ~2%
//! CANCELLED, ~2% PENDING, ~1% FAILED, ~1% RUNNING, ~10% with an idempotency key, attempt rows
//! for every attempt. Creation times increase over the past six days; the newest 2% of the jobs
//! were created in the last 15 minutes (the overview's window), so the stats call has a busy
//! window to count. RUNNING jobs hold leases far in the future, so that the rescuer leaves them
//! alone during the run.
//!
//! Environment: RESEOLIO_BENCH_SCALE (e.g. 0.1) scales the row count and the request counts;
//! RESEOLIO_BENCH_DIR picks the directory of the database (default: the current directory;
//! `ci/bench` sets the target directory). The database is made fresh in a temporary directory
//! and deleted at the end, unless RESEOLIO_BENCH_KEEP_DB=1: then it is kept as
//! `reseolio-bench-dashboard-<rows>.db` in that directory and reused by later runs while its
//! newest job is less than a day old (its 15-minute window empties as it ages; delete the file
//! to start afresh).
//!
//! Runs only when given `--bench` (as `cargo bench` does).

use reseolio_core::{Engine, EngineConfig};
use reseolio_dashboard::{serve, DashboardConfig};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The p99 every required figure must stay under, in ms.
const TARGET_P99_MS: f64 = 50.0;
/// Rows per fill transaction.
const FILL_BATCH: usize = 50_000;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// `n` scaled by RESEOLIO_BENCH_SCALE, at least 10 (as in the core benchmarks).
fn scale(n: usize) -> usize {
    let s: f64 = std::env::var("RESEOLIO_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * s) as usize).max(10)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The `p` percentile of sorted durations, in ms.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn emit(figure: &str, value: f64, unit: &str, rows: usize) {
    println!(
        "{{\"figure\":\"{figure}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"rows\":{rows},\"cores\":{}}}",
        cores()
    );
}

/// splitmix64: a small deterministic generator, so that every run fills the same mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
    /// A UUIDv7 string for time `ms`, as the engine's ids are (they sort by creation).
    fn uuid_v7(&mut self, ms: i64) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
            (ms >> 16) as u32,
            (ms & 0xffff) as u16,
            a & 0xfff,
            0x8000 | ((a >> 12) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// What the measurements look up: an existing idempotency key and a DEAD job's id.
struct Picks {
    search_key: String,
    job_id: String,
}

/// One attempt row.
struct Attempt {
    started_at: i64,
    finished_at: Option<i64>,
    outcome: Option<&'static str>,
    error: Option<&'static str>,
}

const ERRORS: [&str; 4] = [
    "upstream returned 503 Service Unavailable",
    "connection refused (os error 111)",
    "ValueError: invalid literal for int() with base 10: 'n/a'",
    "deadline exceeded after 30000 ms",
];

/// Inserts `rows` jobs (and their attempts) into the migrated, closed database at `path`.
/// Returns the time the fill took.
fn fill(path: &Path, rows: usize) -> Duration {
    let start = Instant::now();
    let now = now_ms();
    let mut conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
    )
    .unwrap();
    let mut rng = Rng(0x5EED_0FDA_5B0A_2D00);
    // Function names with skewed popularity: weight 1/(k+1).
    let names: Vec<String> = (0..20).map(|k| format!("fn-{k}")).collect();
    let weights: Vec<f64> = (0..20).map(|k| 1.0 / (k as f64 + 1.0)).collect();
    let total_weight: f64 = weights.iter().sum();
    let workers: Vec<String> = (0..8).map(|k| format!("worker-{k}")).collect();
    let nodes: Vec<String> = (0..4).map(|k| rng.uuid_v7(now - 7 * DAY_MS + k)).collect();
    // The newest 2% were created over the last 15 minutes (up to a minute ago, so that even the
    // slowest of them finished before now), the rest over the six days before.
    let recent = rows / 50;
    let old = rows - recent;
    let (old_from, recent_from, recent_to) =
        (now - 6 * DAY_MS, now - 15 * MINUTE_MS, now - MINUTE_MS);
    let created = |i: usize| -> i64 {
        if i < old {
            old_from + ((recent_from - old_from) as i128 * i as i128 / old as i128) as i64
        } else {
            recent_from
                + ((recent_to - recent_from) as i128 * (i - old) as i128 / recent.max(1) as i128)
                    as i64
        }
    };
    let mut attempts: Vec<Attempt> = Vec::with_capacity(4);
    let mut i = 0;
    while i < rows {
        let tx = conn.transaction().unwrap();
        {
            let mut insert_job = tx
                .prepare_cached(
                    "INSERT INTO reseolio_jobs (id, name, args, status, priority, attempt, \
                     max_attempts, backoff, initial_delay_ms, max_delay_ms, jitter, timeout_ms, \
                     idempotency_key, result, last_error, created_at, run_at, started_at, \
                     completed_at, lease, lease_expires_at, worker_id, node_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 3, 'exponential', 1000, 60000, 0.1, 30000, \
                     ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )
                .unwrap();
            let mut insert_attempt = tx
                .prepare_cached(
                    "INSERT INTO reseolio_attempts (job_id, attempt, lease, worker_id, node_id, \
                     started_at, finished_at, outcome, error) \
                     VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .unwrap();
            for i in i..(i + FILL_BATCH).min(rows) {
                let created_at = created(i);
                let id = rng.uuid_v7(created_at);
                let mut pick = rng.unit() * total_weight;
                let mut k = 0;
                while k < 19 && pick >= weights[k] {
                    pick -= weights[k];
                    k += 1;
                }
                let name = &names[k];
                let args = format!(
                    "{{\"user_id\":{},\"order_id\":\"A-{i:07}\",\"amount_cents\":{},\"currency\":\"EUR\"}}",
                    rng.below(1_000_000),
                    rng.below(100_000)
                );
                let priority = if rng.below(20) == 0 { 10 } else { 0 };
                let key = (rng.below(10) == 0).then(|| format!("order-{i:07}"));
                let worker = &workers[rng.below(8) as usize];
                let node = &nodes[rng.below(4) as usize];
                // Runs attempts one after another from `at`, each failing but maybe the last,
                // with the default backoff (1 s, 2 s, ...) between them. Returns the last end.
                let mut run = |n: i64, last: Option<&'static str>, rng: &mut Rng| -> i64 {
                    attempts.clear();
                    let mut at = created_at + 5 + rng.below(200);
                    for a in 1..=n {
                        let end = at + 10 + rng.below(2000);
                        let is_last = a == n;
                        let outcome = if is_last { last } else { Some("failure") };
                        attempts.push(Attempt {
                            started_at: at,
                            finished_at: outcome.map(|_| end),
                            outcome,
                            error: match outcome {
                                Some("failure") | Some("timed_out") => {
                                    Some(ERRORS[rng.below(4) as usize])
                                }
                                _ => None,
                            },
                        });
                        at = end + (1000 << (a - 1));
                    }
                    attempts
                        .last()
                        .map_or(created_at, |a| a.finished_at.unwrap_or(a.started_at))
                };
                let r = rng.unit();
                let (
                    status,
                    attempt,
                    result,
                    last_error,
                    run_at,
                    started_at,
                    completed_at,
                    lease_expires_at,
                    worker_id,
                ) = if r < 0.90 {
                    let n = if rng.below(20) == 0 { 2 } else { 1 };
                    let end = run(n, Some("success"), &mut rng);
                    let result = format!("{{\"ok\":true,\"ref\":\"r-{i:07}\"}}");
                    let started = attempts.last().unwrap().started_at;
                    (
                        "SUCCESS",
                        n,
                        Some(result),
                        None,
                        created_at,
                        Some(started),
                        Some(end),
                        None,
                        None,
                    )
                } else if r < 0.94 {
                    let last = if rng.below(4) == 0 {
                        "timed_out"
                    } else {
                        "failure"
                    };
                    let end = run(3, Some(last), &mut rng);
                    let started = attempts.last().unwrap().started_at;
                    let error = attempts.last().unwrap().error;
                    (
                        "DEAD",
                        3,
                        None,
                        error,
                        created_at,
                        Some(started),
                        Some(end),
                        None,
                        None,
                    )
                } else if r < 0.96 {
                    // Half were cancelled while waiting, half while running.
                    if rng.below(2) == 0 {
                        attempts.clear();
                        let end = created_at + 100 + rng.below(60_000);
                        (
                            "CANCELLED",
                            0,
                            None,
                            None,
                            created_at,
                            None,
                            Some(end),
                            None,
                            None,
                        )
                    } else {
                        let end = run(1, Some("cancelled"), &mut rng);
                        let started = attempts[0].started_at;
                        (
                            "CANCELLED",
                            1,
                            None,
                            None,
                            created_at,
                            Some(started),
                            Some(end),
                            None,
                            None,
                        )
                    }
                } else if r < 0.98 {
                    attempts.clear();
                    // A backlog: some due long ago, some delayed into the future.
                    let run_at = if rng.below(4) == 0 {
                        now + rng.below(DAY_MS as u64)
                    } else {
                        created_at
                    };
                    ("PENDING", 0, None, None, run_at, None, None, None, None)
                } else if r < 0.99 {
                    let n = 1 + rng.below(2);
                    let end = run(n, Some("failure"), &mut rng);
                    let started = attempts.last().unwrap().started_at;
                    let error = attempts.last().unwrap().error;
                    (
                        "FAILED",
                        n,
                        None,
                        error,
                        end + (1000 << (n - 1)),
                        Some(started),
                        None,
                        None,
                        None,
                    )
                } else {
                    run(1, None, &mut rng);
                    let started = attempts[0].started_at;
                    (
                        "RUNNING",
                        1,
                        None,
                        None,
                        created_at,
                        Some(started),
                        None,
                        Some(now + 30 * DAY_MS),
                        Some(worker.as_str()),
                    )
                };
                insert_job
                    .execute(params![
                        id,
                        name,
                        args.as_bytes(),
                        status,
                        priority,
                        attempt,
                        key,
                        result.as_ref().map(|r| r.as_bytes()),
                        last_error,
                        created_at,
                        run_at,
                        started_at,
                        completed_at,
                        attempt,
                        lease_expires_at,
                        worker_id,
                        (attempt > 0).then_some(node.as_str()),
                    ])
                    .unwrap();
                for (a, row) in attempts.iter().enumerate() {
                    insert_attempt
                        .execute(params![
                            id,
                            a as i64 + 1,
                            worker,
                            node,
                            row.started_at,
                            row.finished_at,
                            row.outcome,
                            row.error,
                        ])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
        i = (i + FILL_BATCH).min(rows);
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let counted: i64 = conn
        .query_row("SELECT sum(n) FROM reseolio_job_counts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        counted, rows as i64,
        "the trigger-kept job counts do not add up to the rows inserted"
    );
    start.elapsed()
}

/// The rows the job-count table holds, and the age of the newest job; None without a table.
fn existing(path: &Path) -> Option<(i64, i64)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let n: i64 = conn
        .query_row("SELECT sum(n) FROM reseolio_job_counts", [], |r| r.get(0))
        .ok()?;
    let newest: i64 = conn
        .query_row("SELECT max(created_at) FROM reseolio_jobs", [], |r| {
            r.get(0)
        })
        .ok()?;
    Some((n, now_ms() - newest))
}

/// An idempotency key from the middle of the table and a DEAD job from the middle of its
/// status (three attempts each).
fn picks(path: &Path, rows: usize) -> Picks {
    let conn = Connection::open(path).unwrap();
    let search_key: String = conn
        .query_row(
            "SELECT idempotency_key FROM reseolio_jobs WHERE idempotency_key >= ?1 \
             ORDER BY idempotency_key LIMIT 1",
            [format!("order-{:07}", rows / 2)],
            |r| r.get(0),
        )
        .unwrap();
    let job_id: String = conn
        .query_row(
            "SELECT id FROM reseolio_jobs WHERE status = 'DEAD' ORDER BY created_at LIMIT 1 \
             OFFSET (SELECT sum(n) / 2 FROM reseolio_job_counts WHERE status = 'DEAD')",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
        .expect("no DEAD job");
    Picks { search_key, job_id }
}

/// A minimal HTTP/1.1 client on one keep-alive connection (no `Connection: close`), reading
/// each answer to its end by Content-Length or chunks.
struct Client {
    addr: SocketAddr,
    conn: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            addr,
            conn: BufReader::with_capacity(64 * 1024, stream),
        }
    }

    /// GET `path`; returns the status and the body.
    fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.conn
            .get_mut()
            .write_all(head.as_bytes())
            .expect("write");
        let mut line = String::new();
        self.conn.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.conn.read_line(&mut line).expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = Some(v.parse::<usize>().expect("content-length"));
                } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                    chunked = true;
                } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    panic!("the server closed the keep-alive connection");
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.conn.read_line(&mut line).expect("chunk size");
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16)
                    .expect("chunk size hex");
                let at = body.len();
                body.resize(at + size, 0);
                self.conn.read_exact(&mut body[at..]).expect("chunk");
                line.clear();
                self.conn.read_line(&mut line).expect("chunk end");
                if size == 0 {
                    break;
                }
            }
        } else {
            body.resize(length.expect("neither a length nor chunks"), 0);
            self.conn.read_exact(&mut body).expect("body");
        }
        (status, body)
    }

    /// GET `path`, which must answer 200 with JSON.
    fn json(&mut self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("JSON")
    }
}

/// Checks that each listing answers what it should, so that a fast figure is not a wrong one.
fn check(client: &mut Client, picks: &Picks, rows: usize) {
    let page = client.json("/api/jobs?limit=50");
    assert_eq!(page["total"].as_u64(), Some(rows as u64));
    assert_eq!(page["jobs"].as_array().unwrap().len(), 50);
    let deep = client.json("/api/jobs?limit=50&offset=5000");
    assert_eq!(
        deep["jobs"].as_array().unwrap().len(),
        50.min(rows.saturating_sub(5000))
    );
    let dead = client.json("/api/jobs?status=DEAD&limit=50");
    assert!(dead["total"].as_u64().unwrap() > 0);
    assert!(dead["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["status"] == "DEAD"));
    let two = client.json("/api/jobs?status=DEAD&name=fn-3&limit=50");
    assert!(two["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["status"] == "DEAD" && j["name"] == "fn-3"));
    let found = client.json(&format!("/api/jobs?search={}", picks.search_key));
    assert_eq!(found["total"].as_u64(), Some(1));
    let job = client.json(&format!("/api/jobs/{}", picks.job_id));
    assert_eq!(job["attempts"].as_array().unwrap().len(), 3);
    let stats = client.json("/api/stats");
    assert_eq!(stats["total"].as_u64(), Some(rows as u64));
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows = scale(1_000_000);
    let requests = scale(200);
    let warmup = scale(20);
    let base = PathBuf::from(std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into()));
    let keep = std::env::var("RESEOLIO_BENCH_KEEP_DB").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = (!keep).then(|| {
        tempfile::Builder::new()
            .prefix("reseolio-bench-dashboard")
            .tempdir_in(&base)
            .unwrap()
    });
    let path = match &dir {
        Some(d) => d.path().join("jobs.db"),
        None => base.join(format!("reseolio-bench-dashboard-{rows}.db")),
    };
    let url = format!("sqlite://{}", path.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let reuse =
        keep && matches!(existing(&path), Some((n, age)) if n == rows as i64 && age < DAY_MS);
    if reuse {
        eprintln!("reusing {} (RESEOLIO_BENCH_KEEP_DB)", path.display());
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        // The engine migrates the schema; then it is shut down and the rows go in directly.
        let engine = {
            let _in_runtime = rt.enter();
            Engine::open(&url, EngineConfig::default()).unwrap()
        };
        rt.block_on(engine.shutdown());
        let took = fill(&path, rows);
        emit("dashboard_fill_s", took.as_secs_f64(), "s", rows);
    }
    let size: u64 = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    emit(
        "dashboard_db_size",
        size as f64 / (1024.0 * 1024.0),
        "MiB",
        rows,
    );
    let picks = picks(&path, rows);

    let engine = rt
        .block_on(Engine::open_async(&url, EngineConfig::default()))
        .unwrap();
    let serving = rt
        .block_on(serve(
            engine.clone(),
            DashboardConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
        ))
        .unwrap();
    let endpoints: Vec<(&str, String)> = vec![
        ("jobs_list", "/api/jobs?limit=50".into()),
        ("jobs_deep_page", "/api/jobs?limit=50&offset=5000".into()),
        ("jobs_filtered", "/api/jobs?status=DEAD&limit=50".into()),
        (
            "jobs_two_filters",
            "/api/jobs?status=DEAD&name=fn-3&limit=50".into(),
        ),
        (
            "jobs_search",
            format!("/api/jobs?search={}", picks.search_key),
        ),
        ("job_page", format!("/api/jobs/{}", picks.job_id)),
        ("stats", "/api/stats".into()),
        ("index_page", "/".into()),
        ("metrics", "/metrics".into()),
    ];

    // The client runs on this thread with blocking I/O; the server on the runtime's threads.
    let mut client = Client::connect(serving.local_addr());
    check(&mut client, &picks, rows);
    for _ in 0..warmup {
        for (_, path) in &endpoints {
            client.get(path);
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(requests); endpoints.len()];
    for _ in 0..requests {
        for ((_, path), t) in endpoints.iter().zip(times.iter_mut()) {
            let start = Instant::now();
            let (status, body) = client.get(path);
            t.push(start.elapsed());
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        }
    }
    let mut p99s = Vec::new();
    for ((name, _), t) in endpoints.iter().zip(times.iter_mut()) {
        t.sort();
        let p99 = percentile_ms(t, 0.99);
        emit(
            &format!("dashboard_{name}_p50"),
            percentile_ms(t, 0.5),
            "ms",
            rows,
        );
        emit(&format!("dashboard_{name}_p99"), p99, "ms", rows);
        p99s.push((*name, p99));
    }
    for required in ["jobs_list", "jobs_filtered", "stats"] {
        let p99 = p99s.iter().find(|(n, _)| *n == required).unwrap().1;
        println!(
            "{{\"figure\":\"dashboard_{required}_p99_target\",\"value\":{p99:.3},\"target\":{TARGET_P99_MS},\"met\":{},\"rows\":{rows},\"cores\":{}}}",
            p99 < TARGET_P99_MS,
            cores()
        );
    }

    drop(client);
    rt.block_on(async {
        serving.shutdown().await.unwrap();
        engine.shutdown().await;
    });
    drop(dir);
}
