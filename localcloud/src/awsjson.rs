//! The AWS JSON protocols (1.1 for ECS, 1.0 for Step Functions) as the local cloud speaks them (the
//! gateway, the local Fargate, Step Functions and the client to moto): which operation a request
//! names (`X-Amz-Target: <Prefix>.<Operation>`), answers, and errors in AWS's shape
//! (`{"__type": "...", "message": "..."}` with the status AWS uses for that error).

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderMap;
use serde_json::{Value, json};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The content type of AWS JSON 1.0 (Step Functions).
pub const CONTENT_TYPE_1_0: &str = "application/x-amz-json-1.0";

/// An AWS error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct AwsError {
    pub status: StatusCode,
    /// The error code, e.g. `ClientException` (the `__type` field).
    pub error_type: String,
    pub message: String,
}

impl AwsError {
    pub fn new(status: StatusCode, error_type: &str, message: impl Into<String>) -> AwsError {
        AwsError { status, error_type: error_type.to_owned(), message: message.into() }
    }

    /// ECS's catch-all for a request that is wrong (an unknown task definition, a bad ARN).
    pub fn client(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, "ClientException", message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, "InvalidParameterException", message)
    }

    pub fn cluster_not_found() -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, "ClusterNotFoundException", "Cluster not found.")
    }

    /// A request body that is not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, "SerializationException", message)
    }

    pub fn unknown_operation(target: &str) -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, "UnknownOperationException", format!("Unknown operation {target}"))
    }

    /// Something on our side failed (the Docker engine, moto): ECS's ServerException, HTTP 500.
    pub fn server(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::INTERNAL_SERVER_ERROR, "ServerException", message)
    }

    /// The error an AWS JSON answer with a failing `status` carries (moto's, passed on).
    pub fn from_answer(status: StatusCode, body: &Value) -> AwsError {
        let error_type = body
            .get("__type")
            .and_then(Value::as_str)
            // Some services qualify the code: "com.amazonaws.ecs#ClientException".
            .map(|t| t.rsplit('#').next().unwrap_or(t))
            .unwrap_or("UnknownError");
        let message =
            body.get("message").or_else(|| body.get("Message")).and_then(Value::as_str).unwrap_or("(no message)");
        AwsError::new(status, error_type, message)
    }

    pub fn body(&self) -> Value {
        json!({ "__type": self.error_type, "message": self.message })
    }

    pub fn to_response(&self) -> hyper::Response<Bytes> {
        self.to_response_as(CONTENT_TYPE)
    }

    /// The error as the AWS query protocol (CloudFormation, SNS, SQS's XML, IAM, EC2) answers it,
    /// for a client that sent no `X-Amz-Target`: an SDK cannot read a JSON error there.
    pub fn to_query_response(&self) -> hyper::Response<Bytes> {
        let escape =
            |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        let kind = if self.status.is_server_error() { "Receiver" } else { "Sender" };
        let request_id = uuid::Uuid::new_v4().to_string();
        let xml = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
             <RequestId>{request_id}</RequestId></ErrorResponse>",
            escape(&self.error_type),
            escape(&self.message)
        );
        let mut response = hyper::Response::new(Bytes::from(xml));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/xml"));
        if let Ok(value) = request_id.parse() {
            headers.insert("x-amzn-requestid", value);
        }
        response
    }

    /// The error in the protocol whose content type is `content_type`.
    pub fn to_response_as(&self, content_type: &'static str) -> hyper::Response<Bytes> {
        let mut response = json_response_as(content_type, self.status, &self.body());
        if let Ok(value) = self.error_type.parse() {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    }
}

/// A JSON 1.1 answer.
pub fn json_response(status: StatusCode, body: &Value) -> hyper::Response<Bytes> {
    json_response_as(CONTENT_TYPE, status, body)
}

/// An answer in the JSON protocol whose content type is `content_type` (1.0 or 1.1).
pub fn json_response_as(content_type: &'static str, status: StatusCode, body: &Value) -> hyper::Response<Bytes> {
    let mut response = hyper::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response.headers_mut().insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(hyper::header::HeaderValue::from_static("0")),
    );
    response
}

/// Whether a request is an AWS JSON-protocol call: a POST naming its operation in `X-Amz-Target`.
pub fn is_json_protocol(method: &hyper::Method, headers: &HeaderMap) -> bool {
    method == hyper::Method::POST && target(headers).is_some()
}

/// The JSON protocol version a request used, for an answer in the same one (1.1 unless it said 1.0).
pub fn content_type_of(headers: &HeaderMap) -> &'static str {
    match headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(t) if t.starts_with(CONTENT_TYPE_1_0) => CONTENT_TYPE_1_0,
        _ => CONTENT_TYPE,
    }
}

/// `(prefix, operation)` of a JSON 1.1 request's `X-Amz-Target`, e.g.
/// `("AmazonEC2ContainerServiceV20141113", "RunTask")`.
pub fn target(headers: &HeaderMap) -> Option<(&str, &str)> {
    headers.get("x-amz-target")?.to_str().ok()?.split_once('.')
}

/// The region a signed request was signed for (the credential scope of its Authorization header:
/// `Credential=AKID/20260101/us-east-1/ecs/aws4_request`), the region the caller means.
pub fn signed_region(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() == 5 && !parts[2].is_empty()).then(|| parts[2].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_protocol_client_gets_its_error_as_xml_it_can_read() {
        let error = AwsError::new(StatusCode::BAD_GATEWAY, "ServiceUnavailable", "moto <127.0.0.1:1> did not answer");
        let response = error.to_query_response();
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.headers()[hyper::header::CONTENT_TYPE], "text/xml");
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(
            body.starts_with("<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"),
            "{body}"
        );
        assert!(body.contains("<Message>moto &lt;127.0.0.1:1&gt; did not answer</Message>"), "{body}");
        assert_eq!(crate::upstream::xml_element(&body, "Code"), Some("ServiceUnavailable"));
    }

    #[test]
    fn errors_have_aws_shape_status_and_error_type_header() {
        let response = AwsError::cluster_not_found().to_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(response.headers()["x-amzn-errortype"], "ClusterNotFoundException");
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body, json!({"__type": "ClusterNotFoundException", "message": "Cluster not found."}));
        assert_eq!(AwsError::server("docker is gone").to_response().status(), 500);
        let sfn = AwsError::new(StatusCode::BAD_REQUEST, "ExecutionDoesNotExist", "x").to_response_as(CONTENT_TYPE_1_0);
        assert_eq!(sfn.headers()["content-type"], "application/x-amz-json-1.0");
    }

    #[test]
    fn an_upstream_error_keeps_its_code_without_a_namespace() {
        let err = AwsError::from_answer(
            StatusCode::BAD_REQUEST,
            &json!({"__type": "com.amazonaws.ecs#ClientException", "message": "Unable to describe task definition."}),
        );
        assert_eq!(err.error_type, "ClientException");
        assert_eq!(err.message, "Unable to describe task definition.");
    }

    #[test]
    fn the_signed_region_is_read_from_the_credential_scope() {
        let mut headers = HeaderMap::new();
        assert_eq!(signed_region(&headers), None);
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261129/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        assert_eq!(signed_region(&headers).as_deref(), Some("eu-west-1"));
        headers.insert("x-amz-target", "AmazonEC2ContainerServiceV20141113.RunTask".parse().unwrap());
        assert_eq!(target(&headers), Some(("AmazonEC2ContainerServiceV20141113", "RunTask")));
    }
}
