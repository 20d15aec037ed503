//! The dashboard over HTTP: a real server on 127.0.0.1:0 over a real SQLite engine, spoken to
//! with plain HTTP/1.1 requests.

mod support;

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{
    EnqueueOptions, ErrorKind, Outcome, StepOutcome, StepRecord, StepWait, StepWaitOutcome,
    WorkerOptions,
};
use reseolio_dashboard::{serve, DashboardConfig};
use serde_json::{json, Value};
use support::{request, seed, Fixture};

fn ids(page: &Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn declare(f: &Fixture, name: &str, function: &str) -> String {
    f.engine
        .schedule_declare(ScheduleSpec {
            name: name.into(),
            function: function.into(),
            cron: "0 3 * * *".into(),
            timezone: Some("Europe/Paris".into()),
            args: br#"["nightly"]"#.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
}

// ---------------------------------------------------------------- JSON reads

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_jobs_by_status_and_bucket_the_finished_ones() {
    let f = Fixture::new().await;
    seed(&f).await;
    declare(&f, "a", "work").await;
    let paused = declare(&f, "b", "work").await;
    f.engine.schedule_pause(&paused).await.unwrap();
    f.engine.run_maintenance_once().await.unwrap();

    let res = f.get("/api/stats").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    let st = res.json();
    assert_eq!(
        st["counts"],
        json!({"PENDING": 2, "RUNNING": 1, "FAILED": 1, "SUCCESS": 3, "DEAD": 2, "CANCELLED": 1})
    );
    assert_eq!(st["total"], 10);
    let buckets = st["throughput"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 15, "15 one-minute buckets by default");
    let sum = |k: &str| buckets.iter().map(|b| b[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("succeeded"), sum("dead"), sum("cancelled")), (3, 2, 1));
    let starts: Vec<i64> = buckets
        .iter()
        .map(|b| b["start_ms"].as_i64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 60_000),
        "{starts:?}"
    );
    assert_eq!(
        st["schedules"],
        json!({"ACTIVE": 1, "PAUSED": 1, "total": 2})
    );
    assert_eq!(st["node_id"], f.engine.node_id());
    assert_eq!(st["leader"]["node_id"], f.engine.node_id());
    assert_eq!(st["leader"]["is_self"], true);

    let narrow = f
        .get("/api/stats?window_ms=300000&bucket_ms=30000")
        .await
        .json();
    assert_eq!(
        narrow["throughput"]["buckets"].as_array().unwrap().len(),
        10
    );
    let bad = f.get("/api/stats?bucket_ms=soon").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bucket_ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_list_filters_searches_pages_and_orders_on_the_server() {
    let f = Fixture::new().await;
    let s = seed(&f).await;
    let keyed = f
        .enqueue(
            "mail",
            b"[]",
            EnqueueOptions {
                idempotency_key: Some("order-42".into()),
                delay_ms: Some(3_600_000),
                ..Default::default()
            },
        )
        .await;

    let all = f.get("/api/jobs").await.json();
    assert_eq!(all["total"], 11);
    assert_eq!(
        (all["limit"].clone(), all["offset"].clone()),
        (json!(50), json!(0))
    );
    let row = &all["jobs"][0];
    assert_eq!(row["id"], keyed, "newest first by default");
    assert_eq!(row["idempotency_key"], "order-42");
    assert!(row.get("args").is_none(), "list rows carry no payloads");

    let dead = f.get("/api/jobs?status=dead").await.json();
    assert_eq!(dead["total"], 2);
    assert_eq!(sorted(ids(&dead)), sorted(s.dead.clone()));
    let two = f.get("/api/jobs?status=DEAD,cancelled").await.json();
    assert_eq!(two["total"], 3);
    let repeated = f.get("/api/jobs?status=DEAD&status=CANCELLED").await.json();
    assert_eq!(repeated["total"], 3);
    let mail = f.get("/api/jobs?name=mail").await.json();
    assert_eq!(mail["total"], 4);
    let mail_pending = f.get("/api/jobs?name=mail&status=PENDING").await.json();
    assert_eq!(mail_pending["total"], 3);
    let nothing = f.get("/api/jobs?name=nope").await.json();
    assert_eq!(
        (nothing["total"].clone(), ids(&nothing).len()),
        (json!(0), 0)
    );

    let by_id = f
        .get(&format!("/api/jobs?search={}", s.running))
        .await
        .json();
    assert_eq!(
        (by_id["total"].clone(), ids(&by_id)),
        (json!(1), vec![s.running.clone()])
    );
    let by_key = f.get("/api/jobs?search=order-42").await.json();
    assert_eq!(ids(&by_key), vec![keyed.clone()]);
    let miss = f.get("/api/jobs?search=order-43").await.json();
    assert_eq!(miss["total"], 0);
    let wrong_status = f
        .get(&format!("/api/jobs?search={}&status=DEAD", s.running))
        .await
        .json();
    assert_eq!(wrong_status["total"], 0, "search combines with the filters");

    // Paging: pages of 4 over 11 jobs, oldest first, cover every job once.
    let mut seen = vec![];
    for offset in [0, 4, 8] {
        let page = f
            .get(&format!(
                "/api/jobs?order=created_at&dir=asc&limit=4&offset={offset}"
            ))
            .await
            .json();
        assert_eq!(page["total"], 11);
        seen.extend(ids(&page));
    }
    assert_eq!(seen.len(), 11);
    assert_eq!(
        seen,
        sorted(seen.clone()),
        "UUIDv7 ids follow creation order"
    );
    let beyond = f.get("/api/jobs?offset=100").await.json();
    assert_eq!(
        (beyond["total"].clone(), ids(&beyond).len()),
        (json!(11), 0)
    );

    // By run_at: the delayed job is due last.
    let asc = ids(&f.get("/api/jobs?order=run_at&dir=asc").await.json());
    assert_eq!(asc.last(), Some(&keyed));
    let desc = ids(&f
        .get("/api/jobs?order=RUN_AT&dir=desc&limit=1")
        .await
        .json());
    assert_eq!(desc, vec![keyed]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_page_has_payloads_errors_attempts_and_its_schedule() {
    let f = Fixture::new().await;
    let s = seed(&f).await;

    let ok = f.get(&format!("/api/jobs/{}", s.succeeded[1])).await.json();
    let job = &ok["job"];
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["args"], json!({"encoding": "json", "value": [1]}));
    assert_eq!(
        job["result"],
        json!({"encoding": "json", "value": {"n": 1}})
    );
    assert_eq!(job["retry"]["backoff"], "exponential");
    assert_eq!(job["schedule"], Value::Null);
    let attempts = ok["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert_eq!(a["attempt"], 1);
    assert_eq!(a["outcome"], "success");
    assert_eq!(a["worker_id"], "worker-a");
    assert_eq!(a["node_id"], f.engine.node_id());
    assert!(a["finished_at"].as_i64().unwrap() >= a["started_at"].as_i64().unwrap());
    assert_eq!(
        a["duration_ms"].as_i64().unwrap(),
        a["finished_at"].as_i64().unwrap() - a["started_at"].as_i64().unwrap()
    );

    let dead = f.get(&format!("/api/jobs/{}", s.dead[0])).await.json();
    assert_eq!(dead["job"]["last_error"], "boom: no retry");
    assert_eq!(dead["job"]["result"], Value::Null);
    assert_eq!(dead["attempts"][0]["outcome"], "failure");
    assert_eq!(dead["attempts"][0]["error"], "boom: no retry");

    let running = f.get(&format!("/api/jobs/{}", s.running)).await.json();
    assert_eq!(running["job"]["worker_id"], "worker-a");
    assert_eq!(running["attempts"][0]["outcome"], Value::Null);
    assert_eq!(running["attempts"][0]["finished_at"], Value::Null);
    assert_eq!(running["attempts"][0]["duration_ms"], Value::Null);

    let binary = f
        .enqueue("blob", &[0xff, 0x00, 0x10], EnqueueOptions::default())
        .await;
    let b = f.get(&format!("/api/jobs/{binary}")).await.json();
    assert_eq!(
        b["job"]["args"],
        json!({"encoding": "base64", "value": "/wAQ"})
    );
    assert_eq!(b["attempts"], json!([]));

    // A job whose key says a schedule's tick started it links to that schedule, by name while
    // the schedule exists.
    let sched = declare(&f, "nightly-report", "report").await;
    let tick = 1_767_236_400_000_i64;
    let key = |t: i64| EnqueueOptions {
        idempotency_key: Some(format!("schedule:{sched}:{t}")),
        ..Default::default()
    };
    let ticked = f.enqueue("report", b"[]", key(tick)).await;
    let linked = f.get(&format!("/api/jobs/{ticked}")).await.json();
    assert_eq!(
        linked["job"]["schedule"],
        json!({"id": sched, "name": "nightly-report", "tick_ms": tick})
    );
    f.engine.schedule_delete(&sched).await.unwrap();
    let orphan = f.get(&format!("/api/jobs/{ticked}")).await.json();
    assert_eq!(
        orphan["job"]["schedule"],
        json!({"id": sched, "name": null, "tick_ms": tick})
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_page_lists_its_steps_in_call_order_with_what_a_waiting_step_waits_for() {
    let f = Fixture::new().await;
    let s = seed(&f).await;
    let worker = f
        .engine
        .worker(WorkerOptions {
            names: vec!["flow".into()],
            concurrency: 1,
            worker_id: Some("flow-worker".into()),
        })
        .unwrap();

    // A function that fetched, failed to notify (after 3 tries) and sleeps for an hour.
    let flow = f.enqueue("flow", b"[]", EnqueueOptions::default()).await;
    let task = worker.poll().await.unwrap();
    assert_eq!(task.token().job_id, flow);
    let before = now_ms();
    let record = |seq, name: &str, outcome, attempts| StepRecord {
        seq,
        name: name.into(),
        outcome,
        attempts,
        started_at: before - 1_500,
    };
    let fetched = StepOutcome::Success(br#"{"rows": 3}"#.to_vec());
    let unreachable = StepOutcome::Failure("smtp: connection refused".into());
    for r in [
        record(0, "fetch", fetched, 1),
        record(1, "notify", unreachable, 3),
    ] {
        f.engine.step_record(task.token(), r).await.unwrap();
    }
    let until_ms = before + 3_600_000;
    let slept = f
        .engine
        .step_wait(task.token(), 2, "cool-down", StepWait::Sleep { until_ms })
        .await
        .unwrap();
    assert_eq!(slept, StepWaitOutcome::Suspended { wake_at: until_ms });
    worker
        .complete(task.token(), Outcome::Suspended)
        .await
        .unwrap();
    let after = now_ms();

    let res = f.get(&format!("/api/jobs/{flow}")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let page = res.json();
    assert_eq!(page["job"]["status"], "PENDING", "suspended on its sleep");
    let steps = page["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{steps:?}");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut expected_keys = [
        "seq",
        "name",
        "kind",
        "status",
        "result",
        "error",
        "attempts",
        "started_at",
        "completed_at",
        "duration_ms",
        "wait_key",
        "wake_at",
    ]
    .map(String::from)
    .to_vec();
    expected_keys.sort();
    for st in steps {
        assert_eq!(keys(st), expected_keys);
    }
    let finished_in_time = |st: &Value| {
        let done = st["completed_at"].as_i64().unwrap();
        assert!((before..=after).contains(&done), "{st}");
        assert_eq!(st["started_at"], before - 1_500);
        assert_eq!(st["duration_ms"].as_i64().unwrap(), done - (before - 1_500));
    };

    let ok = &steps[0];
    assert_eq!(
        (&ok["seq"], &ok["name"], &ok["kind"], &ok["status"]),
        (&json!(0), &json!("fetch"), &json!("run"), &json!("SUCCESS"))
    );
    assert_eq!(
        ok["result"],
        json!({"encoding": "json", "value": {"rows": 3}})
    );
    assert_eq!((&ok["error"], &ok["attempts"]), (&Value::Null, &json!(1)));
    assert_eq!(
        (&ok["wait_key"], &ok["wake_at"]),
        (&Value::Null, &Value::Null)
    );
    finished_in_time(ok);

    let failed = &steps[1];
    assert_eq!(
        (&failed["seq"], &failed["name"], &failed["status"]),
        (&json!(1), &json!("notify"), &json!("FAILED"))
    );
    assert_eq!(failed["error"], "smtp: connection refused");
    assert_eq!(
        (&failed["result"], &failed["attempts"]),
        (&Value::Null, &json!(3))
    );
    finished_in_time(failed);

    let sleeping = &steps[2];
    assert_eq!(
        (&sleeping["seq"], &sleeping["name"], &sleeping["kind"]),
        (&json!(2), &json!("cool-down"), &json!("sleep"))
    );
    assert_eq!(sleeping["status"], "WAITING");
    assert_eq!(sleeping["wake_at"], until_ms);
    assert_eq!(sleeping["wait_key"], Value::Null);
    assert_eq!(
        (
            &sleeping["completed_at"],
            &sleeping["duration_ms"],
            &sleeping["result"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let started = sleeping["started_at"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&started),
        "the engine's clock: {started}"
    );
    assert_eq!(
        page["job"]["run_at"], until_ms,
        "due again when the sleep ends"
    );

    // Waits for an event without a deadline, and for a child job: the key, and no wake time.
    let waits = [
        StepWait::Event {
            key: "approval:order-7".into(),
            timeout_at_ms: None,
        },
        StepWait::Child {
            job_id: s.pending[0].clone(),
        },
    ];
    for (wait, key) in waits.into_iter().zip(["approval:order-7", &s.pending[0]]) {
        let id = f.enqueue("flow", b"[]", EnqueueOptions::default()).await;
        let task = worker.poll().await.unwrap();
        let kind = wait.kind().as_str();
        let out = f
            .engine
            .step_wait(task.token(), 0, "wait", wait)
            .await
            .unwrap();
        assert!(matches!(out, StepWaitOutcome::Suspended { .. }), "{out:?}");
        worker
            .complete(task.token(), Outcome::Suspended)
            .await
            .unwrap();
        let st = f.get(&format!("/api/jobs/{id}")).await.json()["steps"][0].clone();
        assert_eq!(
            (&st["kind"], &st["status"], &st["wait_key"], &st["wake_at"]),
            (&json!(kind), &json!("WAITING"), &json!(key), &Value::Null)
        );
    }
    worker.shutdown(std::time::Duration::ZERO).await;

    // A job without steps has an empty list; an unknown job is still a 404.
    let plain = f.get(&format!("/api/jobs/{}", s.succeeded[0])).await.json();
    assert_eq!(plain["steps"], json!([]));
    let unknown = f.get("/api/jobs/no-such-job").await;
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, "NotFound".to_string())
    );
}

// ---------------------------------------------------------------- actions

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_actions_change_the_job_and_refuse_what_the_state_table_refuses() {
    let f = Fixture::new().await;
    let s = seed(&f).await;

    let res = f.post(&format!("/api/jobs/{}/cancel", s.pending[0])).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["job"]["status"], "CANCELLED");
    assert_eq!(
        f.engine.get(&s.pending[0]).await.unwrap().status.as_str(),
        "CANCELLED"
    );

    let res = f.post(&format!("/api/jobs/{}/retry", s.pending[0])).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["job"]["status"], "PENDING");
    assert_eq!(
        f.engine.get(&s.pending[0]).await.unwrap().status.as_str(),
        "PENDING"
    );

    let again = f.post(&format!("/api/jobs/{}/retry", s.pending[0])).await;
    assert_eq!((again.status, again.kind()), (409, "Conflict".to_string()));
    let finished = f
        .post(&format!("/api/jobs/{}/cancel", s.succeeded[0]))
        .await;
    assert_eq!(
        (finished.status, finished.kind()),
        (409, "Conflict".to_string())
    );
    let unknown = f.post("/api/jobs/no-such-job/cancel").await;
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, "NotFound".to_string())
    );
    assert!(unknown.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no-such-job"));

    let all = f.post("/api/functions/work/retry-dead").await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.json(), json!({"function": "work", "retried": 2}));
    for id in &s.dead {
        assert_eq!(f.engine.get(id).await.unwrap().status.as_str(), "PENDING");
    }
    let none = f.post("/api/functions/work/retry-dead").await.json();
    assert_eq!(none["retried"], 0);

    let get_action = f.get(&format!("/api/jobs/{}/cancel", s.failed)).await;
    assert_eq!(get_action.status, 405, "actions are POST only");
    assert_eq!(
        f.engine.get(&s.failed).await.unwrap().status.as_str(),
        "FAILED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_listed_and_paused_resumed_triggered_and_deleted() {
    let f = Fixture::new().await;
    let a = declare(&f, "alpha", "report").await;
    let b = declare(&f, "beta", "cleanup").await;
    let c = declare(&f, "gamma", "cleanup").await;

    let list = f.get("/api/schedules").await.json();
    assert_eq!(list["total"], 3);
    let names: Vec<&str> = list["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let first = &list["schedules"][0];
    assert_eq!(first["id"], a);
    assert_eq!(first["cron"], "0 3 * * *");
    assert_eq!(first["timezone"], "Europe/Paris");
    assert_eq!(first["status"], "ACTIVE");
    assert_eq!(
        first["args"],
        json!({"encoding": "json", "value": ["nightly"]})
    );
    assert!(first["next_run_at"].as_i64().unwrap() > 0);
    assert_eq!(first["last_run_at"], Value::Null);
    let page = f.get("/api/schedules?limit=2&offset=2").await.json();
    assert_eq!(
        (page["total"].clone(), page["schedules"][0]["name"].clone()),
        (json!(3), json!("gamma"))
    );

    let by_name = f.get("/api/schedules/beta").await;
    assert_eq!(by_name.status, 200);
    assert_eq!(by_name.json()["schedule"]["id"], b);

    let paused = f.post("/api/schedules/beta/pause").await;
    assert_eq!(paused.status, 200, "{}", paused.text());
    assert_eq!(paused.json()["schedule"]["status"], "PAUSED");
    let only_paused = f.get("/api/schedules?status=paused").await.json();
    assert_eq!(only_paused["total"], 1);
    assert_eq!(only_paused["schedules"][0]["id"], b);
    assert_eq!(
        f.get("/api/schedules?status=ACTIVE").await.json()["total"],
        2
    );
    let resumed = f.post(&format!("/api/schedules/{b}/resume")).await.json();
    assert_eq!(resumed["schedule"]["status"], "ACTIVE");

    let trig = f.post(&format!("/api/schedules/{a}/trigger")).await;
    assert_eq!(trig.status, 200, "{}", trig.text());
    let job_id = trig.json()["job_id"].as_str().unwrap().to_string();
    let job = f.engine.get(&job_id).await.unwrap();
    assert_eq!(
        (job.name.as_str(), job.args.as_slice()),
        ("report", &br#"["nightly"]"#[..])
    );

    let del = f.post(&format!("/api/schedules/{a}/delete")).await;
    assert_eq!(del.status, 200, "{}", del.text());
    let gone = f.get(&format!("/api/schedules/{a}")).await;
    assert_eq!((gone.status, gone.kind()), (404, "NotFound".to_string()));
    let del2 = request(
        f.addr,
        "DELETE",
        "/api/schedules/gamma",
        &[("x-reseolio-csrf", "1")],
    )
    .await;
    assert_eq!(del2.status, 200, "{}", del2.text());
    assert_eq!(
        f.engine.schedule_get(&c).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(f.get("/api/schedules").await.json()["total"], 1);
    let missing = f.post("/api/schedules/nope/pause").await;
    assert_eq!(
        (missing.status, missing.kind()),
        (404, "NotFound".to_string())
    );
}

// ---------------------------------------------------------------- bad requests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_with_a_kind_and_the_parameter_named() {
    let f = Fixture::new().await;
    for (path, param) in [
        ("/api/jobs?limit=abc", "'limit'"),
        ("/api/jobs?limit=0", "'limit'"),
        ("/api/jobs?limit=1001", "'limit'"),
        ("/api/jobs?offset=-1", "'offset'"),
        ("/api/jobs?status=bogus", "'status'"),
        ("/api/jobs?order=name", "'order'"),
        ("/api/jobs?dir=up", "'dir'"),
        ("/api/jobs?stauts=DEAD", "'stauts'"),
        ("/api/jobs?search=a&search=b", "'search'"),
        ("/api/schedules?status=bogus", "'status'"),
        ("/api/schedules?limit=x", "'limit'"),
    ] {
        let res = f.get(path).await;
        assert_eq!(res.status, 400, "{path}: {}", res.text());
        assert_eq!(res.kind(), "InvalidArgument", "{path}");
        let msg = res.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(param), "{path}: {msg}");
    }
    let unknown = f.get("/api/jobs/0190-unknown").await;
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, "NotFound".to_string())
    );
    let no_route = f.get("/api/nothing-here").await;
    assert_eq!(
        (no_route.status, no_route.kind()),
        (404, "NotFound".to_string())
    );
    assert_eq!(f.get("/nothing-here").await.status, 404);
    let empty_ok = f.get("/api/jobs?status=&name=&search=").await;
    assert_eq!(empty_ok.status, 200, "empty values mean no filter");
}

// ---------------------------------------------------------------- security

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_route_needs_the_header_or_the_cookie() {
    let f = Fixture::with(|c| c.token = Some("s3cret token".into())).await;
    let id = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    let bearer = ("authorization", "Bearer s3cret token");
    for path in [
        "/",
        "/assets/app.js",
        "/api/config",
        "/api/jobs",
        "/api/stats",
        "/metrics",
    ] {
        let anon = f.get(path).await;
        assert_eq!(anon.status, 401, "{path} without the token");
        assert_eq!(anon.header("www-authenticate"), Some("Bearer"), "{path}");
        let wrong = request(f.addr, "GET", path, &[("authorization", "Bearer nope")]).await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        let ok = request(f.addr, "GET", path, &[bearer]).await;
        assert_eq!(ok.status, 200, "{path} with the token: {}", ok.text());
    }
    assert_eq!(f.get("/api/jobs").await.kind(), "Unauthenticated");
    let action = request(
        f.addr,
        "POST",
        &format!("/api/jobs/{id}/cancel"),
        &[("x-reseolio-csrf", "1")],
    )
    .await;
    assert_eq!(action.status, 401);
    assert_eq!(f.engine.get(&id).await.unwrap().status.as_str(), "PENDING");

    // The browser flow: /?token= sets the cookie and drops the token from the address.
    let wrong = f.get("/?token=guess").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let login = f.get("/?token=s3cret%20token").await;
    assert_eq!(login.status, 303);
    assert_eq!(login.header("location"), Some("/"));
    let cookie = login.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    assert!(
        pair.starts_with("reseolio_token=") && !pair.contains(' '),
        "{pair}"
    );
    let page = request(f.addr, "GET", "/", &[("cookie", &pair)]).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/assets/app.js"));
    let api = request(
        f.addr,
        "GET",
        "/api/config",
        &[("cookie", &format!("other=1; {pair}"))],
    )
    .await;
    assert_eq!(api.status, 200);
    let forged = request(
        f.addr,
        "GET",
        "/api/config",
        &[("cookie", "reseolio_token=s3cret")],
    )
    .await;
    assert_eq!(forged.status, 401);
    let act = request(
        f.addr,
        "POST",
        &format!("/api/jobs/{id}/cancel"),
        &[("cookie", &pair), ("x-reseolio-csrf", "1")],
    )
    .await;
    assert_eq!(act.status, 200, "{}", act.text());
    assert_eq!(
        f.engine.get(&id).await.unwrap().status.as_str(),
        "CANCELLED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_need_the_csrf_header_and_this_servers_origin() {
    let f = Fixture::new().await;
    let id = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    let path = format!("/api/jobs/{id}/cancel");
    let status = || async { f.engine.get(&id).await.unwrap().status.as_str() };

    let bare = request(f.addr, "POST", &path, &[]).await;
    assert_eq!((bare.status, bare.kind()), (403, "Forbidden".to_string()));
    assert!(bare.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("x-reseolio-csrf"));
    let wrong_value = request(f.addr, "POST", &path, &[("x-reseolio-csrf", "0")]).await;
    assert_eq!(wrong_value.status, 403);
    let del = request(f.addr, "DELETE", "/api/schedules/x", &[]).await;
    assert_eq!(del.status, 403);
    assert_eq!(status().await, "PENDING");

    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let res = request(
            f.addr,
            "POST",
            &path,
            &[("x-reseolio-csrf", "1"), ("origin", origin)],
        )
        .await;
        assert_eq!(res.status, 403, "Origin {origin}");
        assert_eq!(status().await, "PENDING");
    }
    let own = format!("http://{}", f.addr);
    let res = request(
        f.addr,
        "POST",
        &path,
        &[("x-reseolio-csrf", "1"), ("origin", &own)],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(status().await, "CANCELLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_action_and_says_so_in_its_config() {
    let f = Fixture::with(|c| c.read_only = true).await;
    let id = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    declare(&f, "alpha", "report").await;
    let config = f.get("/api/config").await.json();
    assert_eq!(config["read_only"], true);
    assert_eq!(config["node_id"], f.engine.node_id());

    for path in [
        format!("/api/jobs/{id}/cancel"),
        format!("/api/jobs/{id}/retry"),
        "/api/functions/mail/retry-dead".to_string(),
        "/api/schedules/alpha/pause".to_string(),
        "/api/schedules/alpha/trigger".to_string(),
        "/api/schedules/alpha/delete".to_string(),
    ] {
        let res = f.post(&path).await;
        assert_eq!(
            (res.status, res.kind()),
            (403, "ReadOnly".to_string()),
            "{path}"
        );
        assert!(res.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("read-only"));
    }
    assert_eq!(f.engine.get(&id).await.unwrap().status.as_str(), "PENDING");
    assert_eq!(
        f.engine
            .schedule_get("alpha")
            .await
            .unwrap()
            .status
            .as_str(),
        "ACTIVE"
    );
    assert_eq!(
        f.get("/api/jobs").await.json()["total"],
        1,
        "reads still work"
    );

    let writable = Fixture::new().await;
    assert_eq!(writable.get("/api/config").await.json()["read_only"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_address_needs_a_token() {
    let f = Fixture::new().await;
    let open = DashboardConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    };
    let err = serve(f.engine.clone(), open.clone())
        .await
        .err()
        .expect("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.message().contains("0.0.0.0:0") && err.message().contains("token"),
        "{err}"
    );
    let empty = DashboardConfig {
        token: Some(String::new()),
        ..open.clone()
    };
    assert_eq!(
        serve(f.engine.clone(), empty).await.err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );

    let guarded = serve(
        f.engine.clone(),
        DashboardConfig {
            token: Some("t".into()),
            ..open
        },
    )
    .await
    .unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], guarded.local_addr().port()));
    assert_eq!(request(addr, "GET", "/api/config", &[]).await.status, 401);
    guarded.shutdown().await.unwrap();
    assert!(DashboardConfig::default().validate().is_ok());
    assert_eq!(
        DashboardConfig::default().addr.to_string(),
        "127.0.0.1:7780"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_loopback_host_names_are_answered() {
    let f = Fixture::new().await;
    let port = f.addr.port();
    for host in ["evil.example", "evil.example:7780", "192.168.1.9"] {
        let res = request(f.addr, "GET", "/api/config", &[("host", host)]).await;
        assert_eq!(res.status, 403, "Host {host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "localhost".into(),
    ] {
        let res = request(f.addr, "GET", "/api/config", &[("host", &host)]).await;
        assert_eq!(res.status, 200, "Host {host}");
    }
}

// ---------------------------------------------------------------- UI, metrics, lifecycle

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_assets_are_served_with_their_types_and_headers() {
    let f = Fixture::new().await;
    let page = f.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(
        html.contains(r#"id="app""#) && html.contains(r#"src="/assets/app.js""#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="nav-jobs""#));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    for (path, ty, needle) in [
        (
            "/assets/app.js",
            "text/javascript; charset=utf-8",
            "hashchange",
        ),
        (
            "/assets/js/jobs.js",
            "text/javascript; charset=utf-8",
            "search-box",
        ),
        (
            "/assets/js/overview.js",
            "text/javascript; charset=utf-8",
            "status-card-",
        ),
        (
            "/assets/js/api.js",
            "text/javascript; charset=utf-8",
            "x-reseolio-csrf",
        ),
        (
            "/assets/js/steps.js",
            "text/javascript; charset=utf-8",
            "steps-table",
        ),
        ("/assets/app.css", "text/css; charset=utf-8", ".badge"),
        ("/assets/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let res = f.get(path).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("content-type"), Some(ty), "{path}");
        assert!(res.text().contains(needle), "{path} lacks {needle}");
    }
    assert_eq!(f.get("/assets/nope.js").await.status, 404);
    assert_eq!(f.get("/assets/../src/lib.rs").await.status, 404);
    let head = request(f.addr, "HEAD", "/", &[]).await;
    assert_eq!((head.status, head.body.len()), (200, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text() {
    let f = Fixture::new().await;
    seed(&f).await;
    let res = f.get("/metrics").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        res.header("content-type")
    );
    let text = res.text();
    assert!(text.lines().any(|l| l.starts_with("# TYPE ")), "{text}");
    assert!(
        text.contains("status=\"DEAD\"} 2"),
        "jobs by status: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_serving_and_leaves_the_engine_open() {
    let mut f = Fixture::new().await;
    assert_eq!(f.get("/api/config").await.status, 200);
    f.serving.take().unwrap().shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(f.addr).await.is_err(),
        "the port is closed"
    );
    f.enqueue("mail", b"[]", EnqueueOptions::default()).await;

    // Dropping a Serving stops it too.
    let dropped = serve(
        f.engine.clone(),
        DashboardConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let addr = dropped.local_addr();
    drop(dropped);
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(closed, "a dropped Serving stops listening");
}
