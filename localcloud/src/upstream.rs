//! moto, as the gateway and the local Fargate reach it: one HTTP/1.1 client over loopback that
//! forwards client requests unchanged (streaming both ways) and makes the few AWS JSON 1.1 calls
//! of our own (DescribeTaskDefinition, DescribeClusters, CloudWatch Logs) that the local Fargate
//! needs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::Value;

use crate::awsjson::AwsError;

/// The body the gateway sends upstream: either a client's body, streamed, or one of ours.
pub type UpstreamBody = http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>;

/// How long a connection to moto stays open unused.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// moto on its internal loopback port.
#[derive(Clone, Debug)]
pub struct Upstream {
    port: u16,
    client: Client<HttpConnector, UpstreamBody>,
}

impl Upstream {
    pub fn new(port: u16) -> Upstream {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // Idle connections close after a few seconds: without a timer the pool never closes them,
        // and a burst of executions would leave dozens open to moto, each with its buffers.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Upstream { port, client }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URI `path_and_query` has on moto.
    pub fn uri(&self, path_and_query: &str) -> Result<hyper::Uri, hyper::http::uri::InvalidUri> {
        format!("http://127.0.0.1:{}{path_and_query}", self.port).parse()
    }

    /// Sends `request` as it is; the caller has pointed its URI at [`Upstream::uri`].
    pub async fn send(
        &self,
        request: hyper::Request<UpstreamBody>,
    ) -> Result<hyper::Response<Incoming>, hyper_util::client::legacy::Error> {
        self.client.request(request).await
    }

    /// One AWS JSON 1.1 call (`X-Amz-Target: {target}`) to moto, in `region`. moto reads the region
    /// (and nothing else) from the credential scope of the Authorization header; it checks no
    /// signature. An AWS error answer comes back as the same [`AwsError`], so a caller can pass it
    /// on to its own client unchanged.
    pub async fn call_json(&self, target: &str, region: &str, body: &Value) -> Result<Value, AwsError> {
        let service = match target.split_once('.').map(|(prefix, _)| prefix) {
            Some(p) if p.starts_with("Logs") => "logs",
            Some(p) if p.starts_with("AmazonEC2ContainerService") => "ecs",
            Some("AWSStepFunctions") => "states",
            _ => "unknown",
        };
        let uri = self.uri("/").map_err(|e| AwsError::server(format!("moto's URI is not valid: {e}")))?;
        let request = hyper::Request::post(uri)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(Full::new(Bytes::from(body.to_string())).map_err(|never| match never {}).boxed_unsync())
            .map_err(|e| AwsError::server(format!("could not build the {target} request to moto: {e}")))?;
        let response = self
            .send(request)
            .await
            .map_err(|e| AwsError::server(format!("moto (127.0.0.1:{}) did not answer {target}: {e}", self.port)))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| AwsError::server(format!("moto's answer to {target} was cut off: {e}")))?
            .to_bytes();
        let value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                AwsError::server(format!(
                    "moto answered {target} with HTTP {status} and a body that is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ))
            })?
        };
        if status.is_success() {
            return Ok(value);
        }
        Err(AwsError::from_answer(status, &value))
    }

    /// One AWS query-protocol call (`Action=...`, form-encoded; SNS) to moto for `service` in
    /// `region`. Returns the XML answer; an error answer becomes an [`AwsError`] with the code and
    /// message of its `<Error>` element.
    pub async fn call_query(
        &self,
        service: &str,
        region: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.as_str()).unwrap_or("(no Action)");
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let uri = self.uri("/").map_err(|e| AwsError::server(format!("moto's URI is not valid: {e}")))?;
        let request = hyper::Request::post(uri)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync())
            .map_err(|e| AwsError::server(format!("could not build the {service} {action} request to moto: {e}")))?;
        let response = self.send(request).await.map_err(|e| {
            AwsError::server(format!("moto (127.0.0.1:{}) did not answer {service} {action}: {e}", self.port))
        })?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| AwsError::server(format!("moto's answer to {service} {action} was cut off: {e}")))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() {
            return Ok(text);
        }
        let code = xml_element(&text, "Code").unwrap_or("UnknownError");
        let message = xml_element(&text, "Message").unwrap_or("(no message)");
        Err(AwsError::new(status, code, message))
    }
}

/// The text of the first `<name>` element of a small AWS XML answer (no nesting of the same name,
/// no CDATA in these answers).
pub fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_of_query_answers() {
        let ok = "<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>";
        assert_eq!(xml_element(ok, "MessageId"), Some("m-1"));
        let err = "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>";
        assert_eq!(xml_element(err, "Code"), Some("NotFound"));
        assert_eq!(xml_element(err, "Message"), Some("Topic does not exist"));
        assert_eq!(xml_element(err, "Missing"), None);
    }
}
