//! The gateway: the local cloud's one AWS endpoint (`localcloud gateway`, started by `up`). It
//! listens on 127.0.0.1 (the public port) and on the task network's gateway address (so tasks
//! reach it, never on 0.0.0.0), serves what moto cannot (ECS tasks that run, their metadata
//! endpoint, Step Functions executions) and forwards everything else to moto unchanged.
//!
//! `route` decides, `forward` proxies, `ecs` the ECS operations; the protocol is `crate::awsjson`.

pub mod ecs;
pub mod forward;
pub mod memory;
pub mod route;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::awsjson::{self, AwsError};
use crate::fargate::engine::Engine;
use crate::fargate::{Fargate, TaskSide};
use crate::stepfunctions::integrations::LocalIntegrations;
use crate::stepfunctions::store::Store;
use crate::stepfunctions::{self, StepFunctions};
use crate::upstream::Upstream;
use route::{MetadataDocument, Route, ServedApi};

/// The gateway's own readiness check; never forwarded.
pub const HEALTH_PATH: &str = "/_localcloud/health";
/// What the gateway's allocator holds, as JSON (`{"in_use_bytes":…,"free_held_bytes":…}`).
pub const MEMORY_PATH: &str = "/_localcloud/memory";

/// A served operation's request is small JSON; this bounds what is buffered for it. Step Functions
/// documents 1 MB as its largest request, and no ECS task request comes near it.
const MAX_SERVED_BODY: usize = 1024 * 1024;
/// What is buffered of a forwarded JSON-protocol request, to check it is JSON before moto sees it:
/// above the largest JSON request the forwarded APIs take (CloudWatch Logs' 1 MiB batch, escaped).
const MAX_FORWARDED_JSON_BODY: usize = 8 * 1024 * 1024;

pub type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the gateway cannot listen on {address}: {source}; choose another port with --aws-port")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    TimeScale(#[from] stepfunctions::TimeScaleError),
    #[error(transparent)]
    MockConfig(#[from] stepfunctions::mock_config::MockConfigError),
    #[error(transparent)]
    MaxTasks(#[from] crate::fargate::MaxTasksError),
    #[error("the gateway's state directory {} cannot be used: {source}", path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub port: u16,
    pub moto_port: u16,
    /// Absolute: it is the label that marks this cloud's containers and networks.
    pub state_dir: PathBuf,
}

impl GatewayConfig {
    pub fn new(port: u16, moto_port: u16, state_dir: &Path) -> Result<GatewayConfig, GatewayError> {
        let state_dir = state_dir
            .canonicalize()
            .map_err(|source| GatewayError::StateDir { path: state_dir.to_path_buf(), source })?;
        Ok(GatewayConfig { port, moto_port, state_dir })
    }
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct Gateway {
    upstream: Upstream,
    fargate: Fargate,
    stepfunctions: StepFunctions,
}

impl Gateway {
    pub fn new(upstream: Upstream, fargate: Fargate, stepfunctions: StepFunctions) -> Gateway {
        Gateway { upstream, fargate, stepfunctions }
    }

    pub fn fargate(&self) -> &Fargate {
        &self.fargate
    }

    pub async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let route = route::route(request.method(), request.uri().path(), request.headers());
        tracing::debug!(method = %request.method(), path = request.uri().path(), ?route, "request");
        match route {
            Route::Health => respond(Response::new(Bytes::from_static(b"ok\n"))),
            Route::Memory => {
                let document = match memory::usage() {
                    Some(u) => serde_json::json!({"in_use_bytes": u.in_use, "free_held_bytes": u.free_held}),
                    None => serde_json::json!({}),
                };
                respond(awsjson::json_response(StatusCode::OK, &document))
            }
            Route::Forward if awsjson::is_json_protocol(request.method(), request.headers()) => {
                let operation = awsjson::target(request.headers()).map(|(_, op)| op.to_owned()).unwrap_or_default();
                let content_type = awsjson::content_type_of(request.headers());
                let (parts, body) = request.into_parts();
                match read_json_body(body, MAX_FORWARDED_JSON_BODY, &operation).await {
                    Ok(body) => forward::forward_read(&self.upstream, parts, body).await,
                    Err(err) => respond(err.to_response_as(content_type)),
                }
            }
            Route::Forward => forward::forward(&self.upstream, request).await,
            Route::Metadata { task_id, document } => {
                let Some((container, task)) = self.fargate.metadata(&task_id) else {
                    return respond(awsjson::json_response(
                        StatusCode::NOT_FOUND,
                        &serde_json::json!({"message": format!("no task {task_id} in this local cloud")}),
                    ));
                };
                let document = match document {
                    MetadataDocument::Container => container,
                    MetadataDocument::Task => task,
                };
                respond(awsjson::json_response_as("application/json", StatusCode::OK, &document))
            }
            Route::Credentials { id } => {
                let (status, document) = match self.fargate.credentials(&id).await {
                    Ok(document) => (StatusCode::OK, document),
                    Err((status, error)) => {
                        (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), error)
                    }
                };
                respond(awsjson::json_response_as("application/json", status, &document))
            }
            Route::Served { api, operation } => {
                let region = awsjson::signed_region(request.headers()).unwrap_or_else(|| crate::REGION.to_owned());
                let content_type = awsjson::content_type_of(request.headers());
                let (parts, body) = request.into_parts();
                let body = match read_json_body(body, MAX_SERVED_BODY, operation).await {
                    Ok(body) => body,
                    Err(err) => return respond(err.to_response_as(content_type)),
                };
                match api {
                    ServedApi::Ecs => respond(ecs::handle(&self.fargate, operation, &region, &body).await),
                    ServedApi::StepFunctions if stepfunctions::CHECKED_THEN_FORWARDED.contains(&operation) => {
                        match stepfunctions::check_definition(operation, &body) {
                            Ok(()) => forward::forward_read(&self.upstream, parts, body).await,
                            Err(err) => {
                                tracing::info!(operation, "refused: {err}");
                                respond(err.to_response_as(awsjson::CONTENT_TYPE_1_0))
                            }
                        }
                    }
                    ServedApi::StepFunctions => respond(self.stepfunctions.handle(operation, &region, &body).await),
                }
            }
        }
    }
}

/// How much of a refused, oversized body the gateway still reads (and drops) before it answers, so
/// a client that sends the whole body before reading gets the 413 instead of a broken pipe. Past
/// this, the connection is closed once the answer is sent.
const MAX_DRAINED_BODY: usize = 64 * MAX_SERVED_BODY;

/// A JSON-protocol request's body: at most `limit` bytes (else 413, as AWS answers a request over
/// its size limit) and JSON when not empty (else SerializationException), never a 500.
async fn read_json_body(mut body: Incoming, limit: usize, operation: &str) -> Result<Bytes, AwsError> {
    let read_error =
        |e: hyper::Error| AwsError::serialization(format!("{operation}: the request body could not be read: {e}"));
    let mut collected = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(read_error)?.into_data() else { continue };
        total = total.saturating_add(data.len());
        if total <= limit {
            collected.extend_from_slice(&data);
        } else {
            // Over the limit: keep nothing more, but read on (up to a cap) so the answer arrives.
            collected = bytes::BytesMut::new();
            if total > MAX_DRAINED_BODY {
                break;
            }
        }
    }
    if total > limit {
        return Err(AwsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("{operation}: the request body is over {limit} bytes, the most this API accepts; send less"),
        ));
    }
    let body = collected.freeze();
    if !body.is_empty()
        && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body)
    {
        return Err(AwsError::serialization(format!(
            "{operation}: the request body is not JSON ({e}); the AWS JSON protocol takes a JSON object"
        )));
    }
    Ok(body)
}

/// One of our own answers as a response body.
pub(crate) fn respond(response: Response<Bytes>) -> Response<ResponseBody> {
    response.map(|bytes| Full::new(bytes).map_err(|never| match never {}).boxed_unsync())
}

/// Runs the gateway until SIGTERM or SIGINT: removes what an earlier gateway of this state
/// directory left, creates the task network, listens, and on the way out stops its tasks and
/// removes their containers and the network.
pub async fn run(config: GatewayConfig) -> Result<(), GatewayError> {
    let public = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), config.port);
    // Bind first: a taken port must fail before any container or network is touched.
    let public_listener =
        TcpListener::bind(public).await.map_err(|source| GatewayError::Listen { address: public, source })?;

    let time_scale = stepfunctions::time_scale_from_env()?;
    let mocks = stepfunctions::mock_config::MockConfig::from_env()?;
    if let Some(mocks) = &mocks {
        let (machines, test_cases) = mocks.counts();
        tracing::info!(file = %mocks.path().display(), machines, test_cases, "mock configuration read (SFN_MOCK_CONFIG)");
    }
    let max_tasks = crate::fargate::max_tasks_from_env()?;
    let upstream = Upstream::new(config.moto_port);
    let engine = match Engine::connect(&config.state_dir).await {
        Ok(engine) => Some(engine),
        Err(e) => {
            tracing::warn!("ECS tasks cannot run: {e}");
            None
        }
    };
    let mut task_side = None;
    let mut task_listener = None;
    if let Some(engine) = &engine {
        let (containers, networks) = engine.remove_leftovers().await;
        if containers + networks > 0 {
            tracing::info!(containers, networks, "removed what an earlier gateway left");
        }
        match engine.create_network().await {
            Ok(network) => {
                // The same port on the task network when free (easy to recognise), else any.
                let mut bound = None;
                for port in [config.port, 0] {
                    match TcpListener::bind(SocketAddr::new(network.gateway, port)).await {
                        Ok(listener) => {
                            bound = Some(listener);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!("cannot listen on {}:{port}: {e}", network.gateway)
                        }
                    }
                }
                if let Some(listener) = bound {
                    let address = listener.local_addr().map_err(|source| GatewayError::Listen {
                        address: SocketAddr::new(network.gateway, config.port),
                        source,
                    })?;
                    tracing::info!(network = %network.name, %address, "tasks reach the gateway here");
                    task_side = Some(TaskSide { network, endpoint: format!("http://{address}") });
                    task_listener = Some(listener);
                }
            }
            Err(e) => tracing::warn!("tasks will have no network: {e}"),
        }
    }

    tracing::info!(max_tasks, "at most this many task containers at once; the others wait in PROVISIONING");
    let fargate = Fargate::new(upstream.clone(), engine.clone(), task_side, max_tasks);
    let integrations = Arc::new(LocalIntegrations::new(fargate.clone(), upstream.clone()));
    let store = Store::open(Some(&config.state_dir));
    let stepfunctions =
        StepFunctions::new(upstream.clone(), store.clone(), integrations, time_scale).with_mock_config(mocks);
    let gateway = Gateway::new(upstream, fargate.clone(), stepfunctions);
    tracing::info!(%public, moto_port = config.moto_port, "gateway listening");
    let mut accepting = vec![tokio::spawn(accept(public_listener, gateway.clone()))];
    if let Some(listener) = task_listener {
        accepting.push(tokio::spawn(accept(listener, gateway.clone())));
    }

    tokio::spawn(memory::give_back_freed_memory());
    shutdown_signal().await;
    tracing::info!("stopping: executions and tasks first, then the listeners");
    store.shutdown();
    fargate.shutdown(Duration::from_secs(10)).await;
    for task in accepting {
        task.abort();
    }
    if let Some(engine) = engine {
        engine.remove_leftovers().await;
    }
    Ok(())
}

async fn accept(listener: TcpListener, gateway: Gateway) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(gateway.handle(request).await) }
            });
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            tracing::warn!("cannot watch for SIGTERM; the gateway stops only when killed");
            std::future::pending::<()>().await
        }
    }
}
