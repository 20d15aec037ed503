//! A fleet of node processes on one PostgreSQL: they share the jobs without running any twice,
//! and when one is killed with SIGKILL its jobs run on the others, with nothing lost.
//!
//! The nodes are this test binary itself, re-run on the ignored `fleet_node` test. Each logs
//! `run <job> <attempt>` before its handler and `done <job>` after the engine accepted the
//! completion, to a log of its own. Reads RESEOLIO_TEST_POSTGRES_URL; says it skipped without it.

use reseolio_core::store::JobListParams;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const URL_ENV: &str = "RESEOLIO_FLEET_URL";
const LOG_ENV: &str = "RESEOLIO_FLEET_LOG";
const SLEEP_ENV: &str = "RESEOLIO_FLEET_SLEEP_MS";

fn schema_url() -> Option<String> {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return None;
    };
    let sep = if server.contains('?') { '&' } else { '?' };
    Some(format!(
        "{server}{sep}schema=t_{}",
        uuid::Uuid::now_v7().simple()
    ))
}

/// A node process: one engine, one worker of concurrency 64 for `fleet` jobs, until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a node process of the fleet tests; does nothing on its own"]
async fn fleet_node() {
    let (Ok(url), Ok(log)) = (std::env::var(URL_ENV), std::env::var(LOG_ENV)) else {
        return;
    };
    let sleep = Duration::from_millis(
        std::env::var(SLEEP_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    );
    let engine = Engine::open_async(&url, EngineConfig::default())
        .await
        .unwrap();
    let worker = std::sync::Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["fleet".into()],
                concurrency: 64,
                worker_id: None,
            })
            .unwrap(),
    );
    let log = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap(),
    ));
    writeln!(log.lock().unwrap(), "node {}", engine.node_id()).unwrap();
    loop {
        let task = worker.poll().await.unwrap();
        let (worker, log) = (worker.clone(), log.clone());
        tokio::spawn(async move {
            let id = task.token().job_id.clone();
            writeln!(log.lock().unwrap(), "run {id} {}", task.job.attempt).unwrap();
            tokio::time::sleep(sleep).await;
            if worker
                .complete(task.token(), Outcome::Success(b"null".to_vec()))
                .await
                .is_ok()
            {
                writeln!(log.lock().unwrap(), "done {id}").unwrap();
            }
        });
    }
}

fn spawn_node(url: &str, log: &std::path::Path, sleep_ms: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fleet_node",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(URL_ENV, url)
        .env(LOG_ENV, log)
        .env(SLEEP_ENV, sleep_ms.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Every `run` and `done` line of a node's log, as (kind, job id).
fn lines(log: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut p = l.split(' ');
            Some((p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect()
}

async fn enqueue_many(e: &Engine, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let batch = chunk.iter().map(|_| {
            let e = e.clone();
            async move {
                e.enqueue("fleet", b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap()
                    .job_id
            }
        });
        for h in batch.map(tokio::spawn).collect::<Vec<_>>() {
            ids.push(h.await.unwrap());
        }
    }
    ids
}

async fn count(e: &Engine, status: JobStatus) -> u64 {
    e.list(JobListParams {
        statuses: vec![status],
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap()
    .total
}

async fn wait_all_succeeded(e: &Engine, n: u64, within: Duration) {
    let end = Instant::now() + within;
    loop {
        let done = count(e, JobStatus::Success).await;
        if done == n {
            return;
        }
        assert!(
            Instant::now() < end,
            "only {done} of {n} jobs succeeded in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut nodes: Vec<Child>) {
    for n in &mut nodes {
        let _ = n.kill();
        let _ = n.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_ten_thousand_jobs_and_run_none_twice() {
    let Some(url) = schema_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let producer = Engine::open_async(&url, EngineConfig::default())
        .await
        .unwrap();
    let ids = enqueue_many(&producer, 10_000).await;
    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("node{i}.log")))
        .collect();
    let started = Instant::now();
    let nodes: Vec<Child> = logs.iter().map(|l| spawn_node(&url, l, 0)).collect();
    wait_all_succeeded(&producer, 10_000, Duration::from_secs(120)).await;
    eprintln!("three nodes drained 10,000 jobs in {:?}", started.elapsed());
    stop(nodes);

    let mut runs: HashMap<String, usize> = HashMap::new();
    let mut shares = Vec::new();
    for log in &logs {
        let l = lines(log);
        let ran = l.iter().filter(|(k, _)| k == "run").count();
        shares.push(ran);
        for (_, id) in l.into_iter().filter(|(k, _)| k == "run") {
            *runs.entry(id).or_default() += 1;
        }
    }
    eprintln!("jobs run per node: {shares:?}");
    assert_eq!(runs.len(), 10_000, "every job ran");
    assert!(
        ids.iter().all(|id| runs.get(id) == Some(&1)),
        "no job ran twice"
    );
    for (i, ran) in shares.iter().enumerate() {
        assert!(
            *ran >= 500,
            "node {i} ran only {ran} jobs: the nodes did not share"
        );
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_run_loses_nothing_and_only_its_held_jobs_run_again() {
    let Some(url) = schema_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let producer = Engine::open_async(&url, EngineConfig::default())
        .await
        .unwrap();
    let n = 2_000;
    enqueue_many(&producer, n).await;
    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("node{i}.log")))
        .collect();
    // 20 ms per job: the victim is sure to be holding jobs when it is killed.
    let mut nodes: Vec<Child> = logs.iter().map(|l| spawn_node(&url, l, 20)).collect();
    let end = Instant::now() + Duration::from_secs(30);
    while lines(&logs[0]).iter().filter(|(k, _)| k == "done").count() < 100 {
        assert!(Instant::now() < end, "the victim never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut victim = nodes.remove(0);
    victim.kill().unwrap();
    victim.wait().unwrap();
    // The survivors see the dead process (same host) and rescue its jobs at once.
    wait_all_succeeded(&producer, n as u64, Duration::from_secs(120)).await;
    stop(nodes);

    let victim_log = lines(&logs[0]);
    let victim_runs: Vec<&String> = victim_log
        .iter()
        .filter(|(k, _)| k == "run")
        .map(|(_, id)| id)
        .collect();
    let victim_done: std::collections::HashSet<&String> = victim_log
        .iter()
        .filter(|(k, _)| k == "done")
        .map(|(_, id)| id)
        .collect();
    let mut runs: HashMap<String, usize> = HashMap::new();
    for log in &logs {
        for (_, id) in lines(log).into_iter().filter(|(k, _)| k == "run") {
            *runs.entry(id).or_default() += 1;
        }
    }
    assert_eq!(runs.len(), n, "every job ran");
    let twice: Vec<&String> = runs
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(id, _)| id)
        .collect();
    eprintln!(
        "victim ran {} jobs ({} completed) before SIGKILL; {} jobs ran twice",
        victim_runs.len(),
        victim_done.len(),
        twice.len()
    );
    assert!(
        twice.len() <= 64,
        "at most the victim's 64 held jobs ran again"
    );
    for id in &twice {
        assert_eq!(runs[*id], 2, "{id} ran more than twice");
        assert!(
            victim_runs.contains(id) && !victim_done.contains(id),
            "{id} ran twice, but not because the victim held it"
        );
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_another_node_takes_over_within_its_term() {
    let Some(url) = schema_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The observer takes no part in the election.
    let observer = Engine::open_async(
        &url,
        EngineConfig {
            maintenance: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("node{i}.log")))
        .collect();
    let mut nodes: Vec<Child> = logs.iter().map(|l| spawn_node(&url, l, 0)).collect();
    let node_id = |i: usize| {
        lines(&logs[i])
            .into_iter()
            .find(|(k, _)| k == "node")
            .map(|(_, id)| id)
    };
    let end = Instant::now() + Duration::from_secs(30);
    let (index, first) = loop {
        if let Some(l) = observer.leader().await.unwrap() {
            if let Some(i) = (0..3).find(|i| node_id(*i).as_deref() == Some(l.node_id.as_str())) {
                break (i, l);
            }
        }
        assert!(Instant::now() < end, "no node became leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut victim = nodes.remove(index);
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed = Instant::now();
    let term = EngineConfig::default().leader_ttl;
    let next = loop {
        let l = observer.leader().await.unwrap().unwrap();
        if l.node_id != first.node_id {
            break l;
        }
        assert!(
            killed.elapsed() < term + Duration::from_secs(2),
            "the dead leader was not replaced within its term ({term:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("leader replaced {:?} after SIGKILL", killed.elapsed());
    let survivors: Vec<String> = (0..3).filter(|i| *i != index).filter_map(node_id).collect();
    assert!(survivors.contains(&next.node_id), "a surviving node leads");
    stop(nodes);
    observer.shutdown().await;
}
