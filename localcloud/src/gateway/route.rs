//! Which requests the gateway serves itself and which go to moto, decided from the method, path and
//! headers alone (no body), so the decision is cheap and a forwarded body is never read. Served
//! AWS APIs are JSON 1.1 operations picked by `X-Amz-Target`; an API added later (Step Functions
//! executions) is one more line in [`SERVED`].

use hyper::Method;
use hyper::header::HeaderMap;

use crate::awsjson;

/// An AWS API of which the gateway serves some operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedApi {
    /// ECS: the task operations; the rest of ECS (task definitions, clusters) is moto's.
    Ecs,
    /// Step Functions: executions, and the definition check before Create/UpdateStateMachine
    /// (which then go to moto); state machines themselves are moto's.
    StepFunctions,
}

/// JSON 1.1 target prefix, API, and the operations the gateway serves; every other operation of
/// that API is forwarded.
pub const SERVED: &[(&str, ServedApi, &[&str])] = &[
    ("AmazonEC2ContainerServiceV20141113", ServedApi::Ecs, &["RunTask", "DescribeTasks", "StopTask", "ListTasks"]),
    ("AWSStepFunctions", ServedApi::StepFunctions, crate::stepfunctions::SERVED_OPERATIONS),
];

/// The task metadata endpoint (version 4): `/v4/<task id>` for the container, `/v4/<task id>/task`
/// for the task.
pub const METADATA_PREFIX: &str = "/v4/";

/// The container credentials endpoint: `/v2/credentials/<credentials id>`, the path ECS serves a
/// task role's credentials on (a task reaches it through its credentials agent).
pub const CREDENTIALS_PREFIX: &str = "/v2/credentials/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The gateway's own readiness check.
    Health,
    /// What the gateway's allocator holds (tests and `just bench`).
    Memory,
    /// A task's metadata document.
    Metadata { task_id: String, document: MetadataDocument },
    /// A task role's credentials, by the task's credentials id.
    Credentials { id: String },
    /// An AWS operation the gateway serves.
    Served { api: ServedApi, operation: &'static str },
    /// Everything else: moto, unchanged.
    Forward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataDocument {
    Container,
    Task,
}

pub fn route(method: &Method, path: &str, headers: &HeaderMap) -> Route {
    if method == Method::GET && path == super::HEALTH_PATH {
        return Route::Health;
    }
    if method == Method::GET && path == super::MEMORY_PATH {
        return Route::Memory;
    }
    if method == Method::POST {
        let Some((prefix, operation)) = awsjson::target(headers) else {
            return Route::Forward;
        };
        let served =
            SERVED.iter().filter(|(served_prefix, _, _)| *served_prefix == prefix).find_map(|(_, api, ops)| {
                ops.iter().find(|op| **op == operation).map(|op| Route::Served { api: *api, operation: op })
            });
        return served.unwrap_or(Route::Forward);
    }
    // A task's requests to its metadata endpoint are unsigned; an S3 GET of a bucket named "v4" is
    // signed, and a task id is 32 hex digits.
    if method != Method::GET || headers.contains_key(hyper::header::AUTHORIZATION) {
        return Route::Forward;
    }
    if let Some(id) = path.strip_prefix(CREDENTIALS_PREFIX) {
        return match uuid::Uuid::try_parse(id) {
            Ok(_) => Route::Credentials { id: id.to_owned() },
            Err(_) => Route::Forward,
        };
    }
    let Some(rest) = path.strip_prefix(METADATA_PREFIX) else {
        return Route::Forward;
    };
    let (task_id, document) = match rest.split_once('/') {
        None => (rest, MetadataDocument::Container),
        Some((id, "task")) => (id, MetadataDocument::Task),
        Some(_) => return Route::Forward,
    };
    if crate::fargate::is_task_id(task_id) {
        return Route::Metadata { task_id: task_id.to_owned(), document };
    }
    Route::Forward
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (hyper::header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn ecs_task_operations_are_served_and_the_rest_of_ecs_is_forwarded() {
        for op in ["RunTask", "DescribeTasks", "StopTask", "ListTasks"] {
            let h = headers(&[("x-amz-target", &format!("AmazonEC2ContainerServiceV20141113.{op}"))]);
            assert_eq!(route(&Method::POST, "/", &h), Route::Served { api: ServedApi::Ecs, operation: op });
        }
        for op in ["RegisterTaskDefinition", "DescribeTaskDefinition", "CreateCluster", "DescribeClusters"] {
            let h = headers(&[("x-amz-target", &format!("AmazonEC2ContainerServiceV20141113.{op}"))]);
            assert_eq!(route(&Method::POST, "/", &h), Route::Forward, "{op}");
        }
    }

    #[test]
    fn step_functions_executions_are_served_and_state_machines_are_moto_s() {
        for op in ["StartExecution", "StartSyncExecution", "DescribeExecution", "StopExecution", "CreateStateMachine"] {
            let h = headers(&[("x-amz-target", &format!("AWSStepFunctions.{op}"))]);
            assert_eq!(route(&Method::POST, "/", &h), Route::Served { api: ServedApi::StepFunctions, operation: op });
        }
        for op in ["ListStateMachines", "DescribeStateMachine", "DeleteStateMachine", "TagResource"] {
            let h = headers(&[("x-amz-target", &format!("AWSStepFunctions.{op}"))]);
            assert_eq!(route(&Method::POST, "/", &h), Route::Forward, "{op}");
        }
    }

    #[test]
    fn other_apis_and_protocols_are_forwarded() {
        let logs = headers(&[("x-amz-target", "Logs_20140328.PutLogEvents")]);
        assert_eq!(route(&Method::POST, "/", &logs), Route::Forward);
        // CloudFormation and STS: the query protocol, no target header.
        assert_eq!(route(&Method::POST, "/", &HeaderMap::new()), Route::Forward);
        // S3 and the ECR-less registry paths: REST.
        assert_eq!(route(&Method::PUT, "/bucket/key", &HeaderMap::new()), Route::Forward);
        // A target naming a served operation, but not by POST, is not a JSON 1.1 call.
        let run = headers(&[("x-amz-target", "AmazonEC2ContainerServiceV20141113.RunTask")]);
        assert_eq!(route(&Method::GET, "/", &run), Route::Forward);
    }

    #[test]
    fn the_credentials_endpoint_is_served_for_credentials_ids_only_and_unsigned_only() {
        let none = HeaderMap::new();
        let id = "5e0e7e3c-6a1b-4d4e-9c3f-2d6f8e1a0b7c";
        let path = format!("/v2/credentials/{id}");
        assert_eq!(route(&Method::GET, &path, &none), Route::Credentials { id: id.to_owned() });
        assert_eq!(route(&Method::GET, "/v2/credentials/not-an-id", &none), Route::Forward);
        assert_eq!(route(&Method::GET, &format!("{path}/more"), &none), Route::Forward);
        assert_eq!(route(&Method::PUT, &path, &none), Route::Forward, "an S3 PUT to bucket v2");
        let signed = headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=test/...")]);
        assert_eq!(route(&Method::GET, &path, &signed), Route::Forward, "an S3 GET of bucket v2");
    }

    #[test]
    fn the_metadata_endpoint_is_served_for_task_ids_only_and_unsigned_only() {
        let none = HeaderMap::new();
        assert_eq!(
            route(&Method::GET, &format!("/v4/{ID}"), &none),
            Route::Metadata { task_id: ID.into(), document: MetadataDocument::Container }
        );
        assert_eq!(
            route(&Method::GET, &format!("/v4/{ID}/task"), &none),
            Route::Metadata { task_id: ID.into(), document: MetadataDocument::Task }
        );
        assert_eq!(route(&Method::GET, &format!("/v4/{ID}/stats"), &none), Route::Forward);
        assert_eq!(route(&Method::GET, "/v4/not-a-task", &none), Route::Forward);
        let signed = headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=x")]);
        assert_eq!(route(&Method::GET, &format!("/v4/{ID}"), &signed), Route::Forward, "S3 bucket v4");
    }

    #[test]
    fn health_is_ours() {
        assert_eq!(route(&Method::GET, "/_localcloud/health", &HeaderMap::new()), Route::Health);
        assert_eq!(route(&Method::GET, "/_localcloud/memory", &HeaderMap::new()), Route::Memory);
        assert_eq!(route(&Method::GET, "/moto-api/", &HeaderMap::new()), Route::Forward);
    }
}
