//! Malformed and semantically invalid gRPC requests against a sidecar served in-process: bytes
//! that do not decode (sent through tonic with a raw codec, and as raw HTTP/2 POSTs whose gRPC
//! framing is wrong), on unary calls and on both streams; and well-formed messages whose content
//! is invalid, on every call that takes input. Each gets the matching status with a message
//! naming what was wrong, nothing is stored, and the server keeps serving everyone.
//! (Authentication, payload limits and the decode limit are proved in `security.rs`.)

mod support;

use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use std::time::Duration;
use support::{client, enqueue, RawCodec, RawDecoder, Setup, Sidecar};
use tokio_stream::StreamExt;
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

async fn start() -> Sidecar {
    Sidecar::start(Setup {
        token: None,
        max_concurrent: 100,
        grace: Duration::from_secs(1),
        maintenance: Some(Duration::from_millis(100)),
    })
    .await
}

impl Sidecar {
    fn client(&self) -> ReseolioClient<Channel> {
        ReseolioClient::new(self.channel.clone())
    }

    /// Still serving: a new connection enqueues, and the job count is `jobs` + 1.
    async fn still_serving(&self, jobs: u64) {
        let mut c = client(&self.url).await;
        c.enqueue_job(enqueue("ok", "[]")).await.unwrap();
        let list = c
            .list_jobs(pb::ListJobsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(list.total as u64, jobs + 1, "nothing else was stored");
    }
}

#[track_caller]
fn refused(s: &Status, code: Code, needles: &[&str]) {
    assert_eq!(s.code(), code, "{s:?}");
    for n in needles {
        assert!(s.message().contains(n), "'{}' lacks '{n}'", s.message());
    }
}

fn path(method: &str) -> http::uri::PathAndQuery {
    format!("/reseolio.Reseolio/{method}").parse().unwrap()
}

async fn raw_unary(channel: &Channel, method: &str, body: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    grpc.unary(Request::new(body), path(method), RawCodec)
        .await
        .map(|r| r.into_inner())
}

/// Opens a stream of `method` that sends `messages` (raw bytes, framed by tonic) and returns
/// the first thing the server answers: a message, the end of the stream, or a status.
/// The client's side stays open unless `messages` is empty (then it is closed at once).
async fn raw_stream(
    channel: &Channel,
    method: &str,
    messages: Vec<Vec<u8>>,
) -> Result<Option<Vec<u8>>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let close = messages.is_empty();
    let outbound =
        tokio_stream::iter(messages).chain(tokio_stream::pending().take(if close { 0 } else { 1 }));
    let answer = async move {
        let mut inbound = grpc
            .streaming(Request::new(outbound), path(method), RawCodec)
            .await?
            .into_inner();
        inbound.message().await
    };
    tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .expect("the server answers the stream")
}

/// A raw HTTP/2 POST to `path` with these headers and body: the gRPC framing is the caller's.
/// Returns the HTTP status and the gRPC status (from a trailers-only answer or the trailers).
async fn raw_post(
    channel: &Channel,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (http::StatusCode, Option<Status>) {
    use tonic::codegen::Service;
    let mut svc = channel.clone();
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    let mut req = http::Request::builder().method("POST").uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(tonic::body::Body::new(body)).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), svc.call(req))
        .await
        .expect("the server answers the POST")
        .unwrap();
    let code = resp.status();
    if let Some(s) = Status::from_header_map(resp.headers()) {
        return (code, Some(s));
    }
    let mut body =
        tonic::codec::Streaming::new_response(RawDecoder, resp.into_body(), code, None, None);
    loop {
        match body.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(s) => return (code, Some(s)),
        }
    }
    (
        code,
        body.trailers()
            .await
            .ok()
            .flatten()
            .and_then(|t| Status::from_header_map(t.as_ref())),
    )
}

/// What a POST is, its headers and body, and the status and words it must get.
type FramingCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    String,
    Code,
    &'static str,
);

const GRPC: [(&str, &str); 2] = [("content-type", "application/grpc"), ("te", "trailers")];

/// A gRPC frame: the compressed flag, the length the prefix announces, then `payload`.
fn frame(compressed: u8, announced: u32, payload: &str) -> String {
    let mut f = vec![compressed];
    f.extend(announced.to_be_bytes());
    let mut s = String::from_utf8(f).expect("an ASCII prefix");
    s.push_str(payload);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_decode_are_refused_on_every_kind_of_call() {
    let s = start().await;
    let decode = "failed to decode Protobuf message";
    // Field 1 (name) announces 100 bytes and 3 follow.
    let truncated = vec![0x0a, 100, b'a', b'b', b'c'];
    refused(
        &raw_unary(&s.channel, "EnqueueJob", truncated.clone())
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode, "buffer underflow"],
    );
    // A string field that is not UTF-8.
    refused(
        &raw_unary(&s.channel, "EnqueueJob", vec![0x0a, 2, 0xff, 0xfe])
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode, "EnqueueRequest.name", "UTF-8"],
    );
    // A string field sent as a number.
    refused(
        &raw_unary(&s.channel, "GetJob", vec![0x08, 1])
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode, "invalid wire type"],
    );
    // A nested message (AckRequest.result) whose own bytes are cut short.
    refused(
        &raw_unary(&s.channel, "AckJob", vec![0x12, 3, 0x12, 9, b'x'])
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode],
    );
    // Field number 0 does not exist in protobuf.
    refused(
        &raw_unary(&s.channel, "ListJobs", vec![0x00, 1])
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode, "invalid tag"],
    );
    // The worker stream: its first message does not decode; so does a later one.
    refused(
        &raw_stream(&s.channel, "PollJobs", vec![truncated.clone()])
            .await
            .unwrap_err(),
        Code::Internal,
        &[decode],
    );
    let first = pb::PollRequest {
        worker_id: String::new(),
        names: vec!["only".into()],
        concurrency: 1,
    };
    let later = raw_stream(
        &s.channel,
        "PollJobs",
        vec![prost_bytes(&first), truncated.clone()],
    )
    .await;
    refused(&later.unwrap_err(), Code::Internal, &[decode]);
    // The completion stream ends with the decode error too (not a clean end).
    let sub = raw_stream(&s.channel, "SubscribeToJobs", vec![truncated.clone()]).await;
    refused(&sub.unwrap_err(), Code::Internal, &[decode]);
    // Unknown fields are skipped, as proto3 requires of every reader (newer clients add fields).
    let mut extra = prost_bytes(&enqueue("forward", "[]"));
    extra.extend([0xf8, 0x06, 7]); // field 111, varint 7
    let answer = raw_unary(&s.channel, "EnqueueJob", extra).await.unwrap();
    let answer = <pb::EnqueueResponse as prost::Message>::decode(&answer[..]).unwrap();
    assert!(!answer.job_id.is_empty());
    s.still_serving(1).await;
    s.stop().await;
}

fn prost_bytes<M: prost::Message>(m: &M) -> Vec<u8> {
    m.encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_grpc_framing_in_a_raw_http2_post_is_refused() {
    let s = start().await;
    let post = |path: &'static str, headers: Vec<(&'static str, &'static str)>, body: String| {
        let channel = s.channel.clone();
        async move { raw_post(&channel, path, &headers, body).await }
    };
    let enqueue_path = "/reseolio.Reseolio/EnqueueJob";
    // A well-formed POST first, to show the helper speaks gRPC.
    let ok = String::from_utf8(prost_bytes(&enqueue("raw", "[]"))).unwrap();
    let (http_status, grpc) =
        post(enqueue_path, GRPC.to_vec(), frame(0, ok.len() as u32, &ok)).await;
    assert_eq!(http_status, 200);
    assert_eq!(grpc.map(|s| s.code()), Some(Code::Ok));

    let cases: Vec<FramingCase> = vec![
        (
            "the prefix announces 100 bytes and the body ends after 3",
            GRPC.to_vec(),
            frame(0, 100, "abc"),
            Code::Internal,
            "Unexpected EOF decoding stream",
        ),
        (
            "the body ends inside the 5-byte prefix",
            GRPC.to_vec(),
            "\0\0".to_string(),
            Code::Internal,
            "Unexpected EOF decoding stream",
        ),
        (
            "no message at all",
            GRPC.to_vec(),
            String::new(),
            Code::Internal,
            "Missing request message",
        ),
        (
            "the compressed flag without a grpc-encoding",
            GRPC.to_vec(),
            frame(1, 2, "\x0a\0"),
            Code::Internal,
            "compressed-flag but no grpc-encoding",
        ),
        (
            "a compression the server does not take",
            [GRPC.to_vec(), vec![("grpc-encoding", "gzip")]].concat(),
            frame(1, 2, "\x0a\0"),
            Code::Unimplemented,
            "gzip",
        ),
        (
            "a prefix announcing 2 GiB: refused at once, before any of it arrives",
            GRPC.to_vec(),
            frame(0, 0x7f7f_7f7f, ""),
            Code::OutOfRange,
            "decoded message length too large",
        ),
        (
            "a compressed flag of 2",
            GRPC.to_vec(),
            frame(2, 2, "\x0a\0"),
            Code::Internal,
            "compression flag",
        ),
    ];
    for (what, headers, body, code, words) in cases {
        let (http_status, grpc) = post(enqueue_path, headers, body).await;
        assert_eq!(http_status, 200, "{what}: gRPC errors travel in trailers");
        let grpc = grpc.unwrap_or_else(|| panic!("{what}: no grpc-status"));
        assert_eq!(grpc.code(), code, "{what}: {grpc:?}");
        assert!(grpc.message().contains(words), "{what}: {grpc:?}");
    }
    for path in ["/reseolio.Reseolio/NoSuchCall", "/no.Such/Service"] {
        let (http_status, grpc) = post(path, GRPC.to_vec(), frame(0, 0, "")).await;
        assert_eq!(http_status, 200, "{path}");
        assert_eq!(grpc.map(|g| g.code()), Some(Code::Unimplemented), "{path}");
    }
    // Only the one POST that was well-formed stored a job.
    s.still_serving(1).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_messages_with_invalid_content_are_refused_by_field() {
    let s = start().await;
    let mut c = s.client();
    let opts = |f: fn(&mut pb::JobOptions)| {
        let mut o = pb::JobOptions::default();
        f(&mut o);
        pb::EnqueueRequest {
            options: Some(o),
            ..enqueue("f", "[]")
        }
    };
    let cases: Vec<(pb::EnqueueRequest, &str)> = vec![
        (
            enqueue(&"n".repeat(256), "[]"),
            "name is 256 bytes; the limit is 255",
        ),
        (
            opts(|o| o.max_attempts = -1),
            "max_attempts must be between 1 and 2147483647, got -1",
        ),
        (
            opts(|o| {
                o.max_attempts = 0;
                o.zero_fields = vec!["max_attempts".into()];
            }),
            "max_attempts must be between 1 and 2147483647, got 0",
        ),
        (
            opts(|o| o.initial_delay_ms = -1),
            "initial_delay_ms must be >= 0, got -1",
        ),
        (
            opts(|o| o.max_delay_ms = -1),
            "max_delay_ms must be >= 0, got -1",
        ),
        (
            opts(|o| o.timeout_ms = -1),
            "timeout_ms must be between 1 and 2592000000 (30 days), got -1",
        ),
        (
            opts(|o| o.jitter = f32::NAN),
            "jitter must be between 0.0 and 1.0, got NaN",
        ),
        (opts(|o| o.run_at = -5), "run_at_ms must be >= 0, got -5"),
        (opts(|o| o.delay_ms = -5), "delay_ms must be >= 0, got -5"),
        (
            opts(|o| {
                o.delay_ms = 5;
                o.run_at = 5;
            }),
            "give delay_ms or run_at_ms, not both",
        ),
        (
            opts(|o| o.backoff = "sometimes".into()),
            "backoff must be one of fixed, linear, exponential; got 'sometimes'",
        ),
        (
            opts(|o| o.zero_fields = vec!["colour".into()]),
            "zero_fields: 'colour' is not a numeric job option",
        ),
        (
            pb::EnqueueRequest {
                idempotency_key: "k".repeat(256),
                ..enqueue("f", "[]")
            },
            "idempotency_key is 256 bytes; the limit is 255",
        ),
    ];
    for (req, message) in cases {
        let e = c.enqueue_job(req).await.unwrap_err();
        refused(&e, Code::InvalidArgument, &[message]);
        assert_eq!(
            e.metadata().get("reseolio-error-kind").unwrap(),
            "invalid_argument"
        );
    }

    // Worker streams.
    let poll = |r: pb::PollRequest| {
        let channel = s.channel.clone();
        async move { raw_stream(&channel, "PollJobs", vec![prost_bytes(&r)]).await }
    };
    let req = |names: Vec<String>, concurrency: i32, worker_id: String| pb::PollRequest {
        worker_id,
        names,
        concurrency,
    };
    refused(
        &poll(req(vec![], -1, String::new())).await.unwrap_err(),
        Code::InvalidArgument,
        &["concurrency must be >= 0, got -1"],
    );
    refused(
        &poll(req(vec![String::new()], 1, String::new()))
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        &["name must not be empty"],
    );
    refused(
        &poll(req(vec![], 1, "w".repeat(256))).await.unwrap_err(),
        Code::InvalidArgument,
        &["worker_id must be 1 to 255 bytes, got 256"],
    );
    refused(
        &raw_stream(&s.channel, "PollJobs", vec![])
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        &["the stream ended before its first PollRequest"],
    );
    let renamed = raw_stream(
        &s.channel,
        "PollJobs",
        vec![
            prost_bytes(&req(vec!["a".into()], 1, String::new())),
            prost_bytes(&req(vec!["n".repeat(256)], 1, String::new())),
        ],
    )
    .await;
    refused(
        &renamed.unwrap_err(),
        Code::InvalidArgument,
        &["name is 256 bytes; the limit is 255"],
    );

    // Acks and heartbeats: a job held by a stream, then every wrong way to report it.
    let job = c
        .enqueue_job(enqueue("held", "[]"))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(req(vec!["held".into()], 1, String::new()))
        .await
        .unwrap();
    let mut jobs = c
        .poll_jobs(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let claimed = jobs.message().await.unwrap().unwrap();
    assert_eq!(claimed.id, job);
    let ok = pb::AckResult {
        success: true,
        return_value: b"1".to_vec(),
        ..Default::default()
    };
    let ack = |job_id: &str, token: &str, result: Option<pb::AckResult>| pb::AckRequest {
        job_id: job_id.into(),
        result,
        lease_token: token.into(),
    };
    let bad_acks: Vec<(pb::AckRequest, Code, String)> = vec![
        (
            ack(&job, &claimed.lease_token, None),
            Code::InvalidArgument,
            "result is missing".into(),
        ),
        (
            ack(&job, "garbage", Some(ok.clone())),
            Code::InvalidArgument,
            "lease token must look like '<job_id>/<lease>', got 'garbage'".into(),
        ),
        (
            ack("other-job", &claimed.lease_token, Some(ok.clone())),
            Code::InvalidArgument,
            format!("lease_token is for job '{job}', not 'other-job'"),
        ),
        (
            ack(&job, &format!("{job}/99"), Some(ok.clone())),
            Code::FailedPrecondition,
            format!("stale lease token for job '{job}'"),
        ),
        (
            ack("", "no-such-job/1", Some(ok.clone())),
            Code::NotFound,
            "no job with id 'no-such-job'".into(),
        ),
        (
            ack(
                &job,
                "",
                Some(pb::AckResult {
                    suspended: true,
                    ..Default::default()
                }),
            ),
            Code::InvalidArgument,
            "must carry the lease_token".into(),
        ),
        (
            ack(
                &job,
                &claimed.lease_token,
                Some(pb::AckResult {
                    suspended: true,
                    ..Default::default()
                }),
            ),
            Code::InvalidArgument,
            "no step wait suspended it".into(),
        ),
    ];
    for (a, code, message) in bad_acks {
        refused(&c.ack_job(a).await.unwrap_err(), code, &[&message]);
    }
    for (token, code, message) in [
        (
            "",
            Code::InvalidArgument,
            "lease token must look like '<job_id>/<lease>', got ''".to_string(),
        ),
        (
            "garbage",
            Code::InvalidArgument,
            "lease token must look like '<job_id>/<lease>', got 'garbage'".to_string(),
        ),
        (
            &*format!("{job}/99"),
            Code::FailedPrecondition,
            format!("stale lease token for job '{job}'"),
        ),
        (
            "no-such-job/1",
            Code::NotFound,
            "no job with id 'no-such-job'".to_string(),
        ),
    ] {
        let e = c
            .heartbeat_job(pb::HeartbeatRequest {
                lease_token: token.into(),
            })
            .await
            .unwrap_err();
        refused(&e, code, &[&message]);
    }
    // None of that touched the job: it is still held, and its own ack completes it.
    let held = c
        .get_job(pb::GetJobRequest {
            job_id: job.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(held.status, pb::JobStatus::Running as i32);
    c.ack_job(ack(&job, &claimed.lease_token, Some(ok.clone())))
        .await
        .unwrap();
    drop(tx);

    // Reads and lists.
    for e in [
        c.get_job(pb::GetJobRequest {
            job_id: String::new(),
        })
        .await
        .unwrap_err(),
        c.list_attempts(pb::ListAttemptsRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err(),
        c.list_steps(pb::ListStepsRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err(),
    ] {
        refused(&e, Code::NotFound, &["no job with id"]);
    }
    let list = |r: pb::ListJobsRequest| {
        let mut c = c.clone();
        async move { c.list_jobs(r).await.unwrap_err() }
    };
    refused(
        &list(pb::ListJobsRequest {
            limit: -1,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        &["limit and offset must be >= 0, got -1 and 0"],
    );
    refused(
        &list(pb::ListJobsRequest {
            limit: 1001,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        &["limit must be between 1 and 1000, got 1001"],
    );
    refused(
        &list(pb::ListJobsRequest {
            order_by: "priority".into(),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        &["order_by must be 'created_at' or 'scheduled_at', got 'priority'"],
    );
    refused(
        &list(pb::ListJobsRequest {
            statuses: vec![0],
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        &["statuses: 0 is not a job status"],
    );

    // A subscription to an unknown id is answered for that id, and the stream goes on.
    let (sub_tx, sub_rx) = tokio::sync::mpsc::channel(4);
    sub_tx
        .send(pb::SubscribeRequest {
            job_ids: vec!["nope".into(), job.clone()],
            unsubscribe: false,
        })
        .await
        .unwrap();
    let mut completions = c
        .subscribe_to_jobs(tokio_stream::wrappers::ReceiverStream::new(sub_rx))
        .await
        .unwrap()
        .into_inner();
    let mut seen = std::collections::HashMap::new();
    for _ in 0..2 {
        let done = completions.message().await.unwrap().unwrap();
        seen.insert(done.job_id.clone(), done);
    }
    assert_eq!(seen["nope"].status, pb::JobStatus::Unspecified as i32);
    assert!(seen["nope"].error.contains("no job with id 'nope'"));
    assert_eq!(seen[&job].status, pb::JobStatus::Success as i32);

    // Schedules and events.
    let schedule = |f: fn(&mut pb::CreateScheduleRequest)| {
        let mut r = pb::CreateScheduleRequest {
            name: "nightly".into(),
            cron_expression: "0 3 * * *".into(),
            ..Default::default()
        };
        f(&mut r);
        r
    };
    for (r, message) in [
        (
            schedule(|r| r.cron_expression = "0 3 * *".into()),
            "cron expression \"0 3 * *\": expected 5 fields",
        ),
        (
            schedule(|r| r.timezone = "Mars/Olympus".into()),
            "timezone \"Mars/Olympus\" is not a known IANA time zone",
        ),
        (
            schedule(|r| r.missed = "sometimes".into()),
            "missed must be 'run_latest' or 'skip', got 'sometimes'",
        ),
        (
            schedule(|r| r.overlap = "never".into()),
            "overlap must be 'allow' or 'skip', got 'never'",
        ),
        (
            schedule(|r| {
                r.handler_options = Some(pb::JobOptions {
                    delay_ms: 5,
                    ..Default::default()
                })
            }),
            "a schedule's job options cannot set delay_ms",
        ),
        (
            schedule(|r| r.name = String::new()),
            "name must not be empty",
        ),
    ] {
        refused(
            &c.create_schedule(r).await.unwrap_err(),
            Code::InvalidArgument,
            &[message],
        );
    }
    refused(
        &c.list_schedules(pb::ListSchedulesRequest {
            limit: -1,
            ..Default::default()
        })
        .await
        .unwrap_err(),
        Code::InvalidArgument,
        &["limit must be between 1 and 1000, got -1"],
    );
    for e in [
        c.pause_schedule(pb::PauseScheduleRequest {
            schedule_id: "nope".into(),
        })
        .await
        .unwrap_err(),
        c.trigger_schedule(pb::TriggerScheduleRequest {
            schedule_id: "nope".into(),
        })
        .await
        .unwrap_err(),
    ] {
        refused(&e, Code::NotFound, &["no schedule with id or name 'nope'"]);
    }
    refused(
        &c.send_event(pb::SendEventRequest {
            key: String::new(),
            payload: vec![],
        })
        .await
        .unwrap_err(),
        Code::InvalidArgument,
        &["event key must not be empty"],
    );
    let schedules = c
        .list_schedules(pb::ListSchedulesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(schedules.total, 0, "no refused schedule was stored");
    s.still_serving(1).await;
    s.stop().await;
}
