//! Serving: the gRPC server with the Reseolio service behind bearer-token auth, standard health
//! checking (grpc.health.v1) and server reflection, and its graceful stop.
//!
//! Security (see `docs/security.md`): an address that is not loopback needs a token; with a
//! token, the Reseolio service and reflection need `authorization: Bearer <token>` (compared in
//! constant time), health checks do not; a request message over [`MAX_MESSAGE_BYTES`] is refused
//! with OUT_OF_RANGE before it is decoded.

use crate::service::Service;
use reseolio_core::{Engine, Error, Result};
use reseolio_proto::reseolio_server::ReseolioServer;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::{Request, Status};

/// The largest request message the server decodes (4 MiB, tonic's default, set explicitly): a
/// larger one is refused with OUT_OF_RANGE, and the call fails alone. Payloads themselves are
/// limited by the engine (1 MiB by default), so every valid message fits.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The address to listen on; port 0 picks a free port (see [`Serving::local_addr`]). An
    /// address that is not loopback (`127.0.0.0/8`, `::1`) requires a token.
    pub addr: SocketAddr,
    /// When set, every call must carry `authorization: Bearer <token>` (health checks excepted).
    /// It must be non-empty printable ASCII, since it travels in an HTTP/2 header.
    pub token: Option<String>,
    /// Jobs in flight across all worker streams.
    pub max_concurrent: u32,
    /// How long a graceful stop waits for the acks of jobs in flight before handing them back.
    pub grace: Duration,
}

/// A running server.
pub struct Serving {
    local_addr: SocketAddr,
    /// Phase one: worker streams stop taking jobs and drain.
    stopping: watch::Sender<bool>,
    open_streams: watch::Receiver<usize>,
    grace: Duration,
    /// Phase two: the transport stops (no new calls on any connection).
    stop: watch::Sender<bool>,
    health: tonic_health::server::HealthReporter,
    task: JoinHandle<std::result::Result<(), tonic::transport::Error>>,
}

impl Serving {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops gracefully: no new jobs are streamed, acks of jobs in flight are taken for the grace
    /// period, the rest are handed back, then the streams and the listener close. Resolves when
    /// the server has stopped. The engine is left open for the caller to shut down.
    pub async fn stop(mut self) -> Result<()> {
        // The transport stays up while the streams drain: acks are new calls, and a stopping
        // transport refuses new calls on every connection.
        // Health checks turn NOT_SERVING at once, so balancers stop sending new workers here.
        self.health
            .set_not_serving::<ReseolioServer<Service>>()
            .await;
        let _ = self.stopping.send(true);
        let drained = self.open_streams.wait_for(|n| *n == 0);
        let _ = tokio::time::timeout(self.grace + Duration::from_secs(5), drained).await;
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::internal(format!("the gRPC server failed: {e}"))),
            Err(e) => Err(Error::internal(format!("the gRPC server task failed: {e}"))),
        }
    }
}

impl ServeConfig {
    /// Checks the configuration without binding anything. Errors: InvalidArgument for a token
    /// that is empty or not printable ASCII, or for an address that is not loopback without a
    /// token (anyone who can reach the port could enqueue, read and cancel every job).
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.token {
            if t.is_empty() {
                return Err(Error::invalid("the gRPC token must not be empty"));
            }
            if !t.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                return Err(Error::invalid(
                    "the gRPC token must be printable ASCII: it travels in the authorization \
                     header",
                ));
            }
        }
        if self.token.is_none() && !self.addr.ip().to_canonical().is_loopback() {
            return Err(Error::invalid(format!(
                "refusing to serve gRPC on {} without a token: it is not a loopback address, so \
                 anyone who can reach it could enqueue, read and cancel every job; set --token \
                 (RESEOLIO_TOKEN) or listen on 127.0.0.1",
                self.addr
            )));
        }
        Ok(())
    }
}

/// Compares secrets in time independent of where they first differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_token(expected: &Option<String>, req: &Request<()>) -> std::result::Result<(), Status> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let given = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    match given {
        None => Err(Status::unauthenticated(
            "this server requires 'authorization: Bearer <token>'",
        )),
        Some(v)
            if v.strip_prefix("Bearer ")
                .is_some_and(|t| same(t.as_bytes(), expected.as_bytes())) =>
        {
            Ok(())
        }
        Some(_) => Err(Status::unauthenticated("the bearer token is wrong")),
    }
}

/// Binds and starts serving `engine`. Returns once the listener is bound; the server runs until
/// [`Serving::stop`]. Errors: InvalidArgument for a configuration [`ServeConfig::validate`]
/// refuses (nothing is bound); Unavailable when the address cannot be bound.
pub async fn serve(engine: Engine, config: ServeConfig) -> Result<Serving> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| {
            Error::new(
                reseolio_core::ErrorKind::Unavailable,
                format!("cannot listen on {}: {e}", config.addr),
            )
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("listener address: {e}")))?;
    let (stopping_tx, stopping) = watch::channel(false);
    let (stop, stop_rx) = watch::channel(false);
    let service = Service::new(engine, config.max_concurrent, config.grace, stopping);
    let open_streams = service.open_streams.subscribe();

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ReseolioServer<Service>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(reseolio_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::internal(format!("reflection: {e}")))?;

    let token = config.token.clone();
    let api = tonic::service::interceptor::InterceptedService::new(
        ReseolioServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES),
        move |req: Request<()>| check_token(&token, &req).map(|()| req),
    );
    let token = config.token.clone();
    let reflection =
        tonic::service::interceptor::InterceptedService::new(reflection, move |req: Request<()>| {
            check_token(&token, &req).map(|()| req)
        });

    let mut stop_rx = stop_rx;
    let health_for_stop = health.clone();
    // No Nagle: acks and jobs are small messages that must not wait for a delayed ACK (40 ms).
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(30)));
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection)
            .add_service(api)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Serving {
        local_addr,
        stopping: stopping_tx,
        open_streams,
        grace: config.grace,
        stop,
        health: health_for_stop,
        task,
    })
}
