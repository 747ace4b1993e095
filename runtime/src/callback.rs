//! The task's side of Step Functions' callback pattern (`ecs:runTask.waitForTaskToken`): the
//! workflow passes its task token in [`TOKEN_ENV`], and the task reports back with
//! SendTaskSuccess (its result becomes the state's output), SendTaskFailure (its error and cause)
//! and SendTaskHeartbeat. No AWS SDK: one SigV4 signature ([`aws_sigv4`], AWS's own signer) on
//! one small AWS JSON 1.0 POST through `ureq`.
//!
//! Where the call goes and as whom comes from the standard configuration, so one binary works on
//! AWS and on the local cloud: the endpoint from `AWS_ENDPOINT_URL_SFN`, then `AWS_ENDPOINT_URL`,
//! else `https://states.<region>.amazonaws.com`; the region from `AWS_REGION` (or
//! `AWS_DEFAULT_REGION`); the credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`AWS_SESSION_TOKEN`), else the ECS container credentials endpoint (the task role:
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2, or `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! with `AWS_CONTAINER_AUTHORIZATION_TOKEN`).
//!
//! HTTPS (AWS's endpoints) goes through rustls with ring, trusting the PEM bundle at
//! `SSL_CERT_FILE` (the task image sets it to its own `ca-certificates.crt`), else
//! `/etc/ssl/certs/ca-certificates.crt`; plain HTTP (the local cloud) needs no TLS at all.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

/// Where the workflow passes the token and its HeartbeatSeconds: the model's contract.
pub use model::task::{HEARTBEAT_ENV, TOKEN_ENV};
/// Step Functions' limit on SendTaskSuccess's output.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// SendTaskFailure's limits on its error and cause (API_SendTaskFailure).
pub const MAX_ERROR_CHARS: usize = 256;
pub const MAX_CAUSE_CHARS: usize = 32768;
/// Where ECS serves a task role's credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on it).
pub const CONTAINER_CREDENTIALS_HOST: &str = "http://169.254.170.2";

const TARGET_PREFIX: &str = "AWSStepFunctions";
const SERVICE: &str = "states";
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("no region for the Step Functions callback: set AWS_REGION (ECS sets it on every task)")]
    NoRegion,
    #[error(
        "no credentials for the Step Functions callback: neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY nor \
         AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI is set; give the task a task role"
    )]
    NoCredentials,
    #[error("the container credentials endpoint {url} did not answer with credentials: {detail}")]
    Credentials { url: String, detail: String },
    #[error(
        "the task's output is {bytes} bytes, over Step Functions' limit of {MAX_OUTPUT_BYTES} bytes (256 KiB) for \
         SendTaskSuccess; return a reference (an S3 key, say) instead of the data"
    )]
    OutputTooLarge { bytes: usize },
    #[error("{operation} could not be signed: {detail}")]
    Signing { operation: String, detail: String },
    #[error("{operation} to {endpoint} failed: {detail}")]
    Transport { operation: String, endpoint: String, detail: String },
    /// Step Functions refused the call: `InvalidToken`, `TaskDoesNotExist`, `TaskTimedOut` (the
    /// workflow has moved on), `InvalidOutput`...
    #[error("{operation} was refused: {code}: {message}")]
    Refused { operation: String, code: String, message: String },
}

impl CallbackError {
    /// True when Step Functions says no one waits for this token any more: the execution ended
    /// (stopped, timed out, failed elsewhere) or the state closed. AWS answers `TaskTimedOut` then;
    /// `TaskDoesNotExist` and `InvalidToken` say the same of a token it no longer knows.
    pub fn workflow_moved_on(&self) -> bool {
        matches!(self, CallbackError::Refused { code, .. }
            if matches!(code.as_str(), "TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken"))
    }
}

/// Static credentials, or where to fetch the task role's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CredentialSource {
    Static { access_key_id: String, secret_access_key: String, session_token: Option<String> },
    Container { url: String, authorization: Option<String> },
}

/// Credentials for a task's own signed AWS calls (with [`signature_headers`]), found the way the
/// callback finds them: the environment's keys, else the task role's from the ECS container
/// credentials endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// The task role they are for, when they came from the container credentials endpoint.
    pub role_arn: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &self.session_token.as_ref().map(|_| "** redacted **"))
            .field("role_arn", &self.role_arn)
            .finish()
    }
}

impl AwsCredentials {
    /// From the process environment: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    /// (`AWS_SESSION_TOKEN`), else `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI` (one
    /// request to the endpoint each call: ECS renews the role's credentials behind it).
    pub fn from_env() -> Result<Self, CallbackError> {
        CredentialSource::from_lookup(|name| std::env::var(name).ok())?.resolve()
    }
}

impl CredentialSource {
    /// From `lookup` (an environment), a variable set to blanks counting as unset.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, CallbackError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => {
                CredentialSource::Static { access_key_id, secret_access_key, session_token: get("AWS_SESSION_TOKEN") }
            }
            _ => match (get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
                (Some(path), _) => CredentialSource::Container {
                    url: format!("{CONTAINER_CREDENTIALS_HOST}{path}"),
                    authorization: None,
                },
                (None, Some(url)) => {
                    CredentialSource::Container { url, authorization: get("AWS_CONTAINER_AUTHORIZATION_TOKEN") }
                }
                (None, None) => return Err(CallbackError::NoCredentials),
            },
        })
    }

    fn resolve(&self) -> Result<AwsCredentials, CallbackError> {
        match self {
            CredentialSource::Static { access_key_id, secret_access_key, session_token } => Ok(AwsCredentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: session_token.clone(),
                role_arn: None,
            }),
            CredentialSource::Container { url, authorization } => {
                let failed = |detail: String| CallbackError::Credentials { url: url.clone(), detail };
                let mut request = agent(url, true).map_err(failed)?.get(url);
                if let Some(token) = authorization {
                    request = request.header("Authorization", token.as_str());
                }
                let answer: Value = request
                    .call()
                    .map_err(|e| failed(e.to_string()))?
                    .body_mut()
                    .read_json()
                    .map_err(|e| failed(e.to_string()))?;
                let field = |name: &str| answer[name].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
                match (field("AccessKeyId"), field("SecretAccessKey")) {
                    (Some(access_key_id), Some(secret_access_key)) => Ok(AwsCredentials {
                        access_key_id,
                        secret_access_key,
                        session_token: field("Token"),
                        role_arn: field("RoleArn"),
                    }),
                    _ => Err(failed(format!("no AccessKeyId and SecretAccessKey in {answer}"))),
                }
            }
        }
    }
}

/// A task's way back to the workflow that waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    token: String,
    endpoint: String,
    region: String,
    credentials: CredentialSource,
}

impl Callback {
    /// From the process environment; None when the task runs without a token (`.sync`, by hand).
    pub fn from_env() -> Result<Option<Self>, CallbackError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `lookup` (an environment); None when [`TOKEN_ENV`] is unset or empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, CallbackError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let Some(token) = get(TOKEN_ENV) else {
            return Ok(None);
        };
        let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")).ok_or(CallbackError::NoRegion)?;
        let endpoint = get("AWS_ENDPOINT_URL_SFN")
            .or_else(|| get("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://states.{region}.amazonaws.com"))
            .trim_end_matches('/')
            .to_owned();
        let credentials = CredentialSource::from_lookup(&lookup)?;
        Ok(Some(Self { token, endpoint, region, credentials }))
    }

    /// How often to send heartbeats: a third of the HeartbeatSeconds in [`HEARTBEAT_ENV`] (at
    /// least a second), None without it.
    pub fn heartbeat_interval(lookup: impl Fn(&str) -> Option<String>) -> Option<Duration> {
        let seconds: u64 = lookup(HEARTBEAT_ENV)?.trim().parse().ok().filter(|s| *s > 0)?;
        Some(Duration::from_secs((seconds / 3).max(1)))
    }

    /// The task token it reports with.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// SendTaskSuccess with `output`, after checking Step Functions' 256 KiB limit (over it, nothing
    /// is sent and the error says so: send a failure with it instead).
    pub fn success(&self, output: &Value) -> Result<(), CallbackError> {
        let text = output.to_string();
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(CallbackError::OutputTooLarge { bytes: text.len() });
        }
        self.call("SendTaskSuccess", json!({"taskToken": self.token, "output": text}))
    }

    /// SendTaskFailure with `error` and `cause`, cut to the API's lengths.
    pub fn failure(&self, error: &str, cause: &str) -> Result<(), CallbackError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let cause: String = cause.chars().take(MAX_CAUSE_CHARS).collect();
        self.call("SendTaskFailure", json!({"taskToken": self.token, "error": error, "cause": cause}))
    }

    /// SendTaskHeartbeat: the task is still at work.
    pub fn heartbeat(&self) -> Result<(), CallbackError> {
        self.call("SendTaskHeartbeat", json!({"taskToken": self.token}))
    }

    fn call(&self, operation: &str, body: Value) -> Result<(), CallbackError> {
        let AwsCredentials { access_key_id, secret_access_key, session_token, .. } = self.credentials.resolve()?;
        let body = body.to_string();
        let url = format!("{}/", self.endpoint);
        let host = host_of(&url);
        let target = format!("{TARGET_PREFIX}.{operation}");
        let mut headers = vec![
            ("content-type".to_owned(), "application/x-amz-json-1.0".to_owned()),
            ("host".to_owned(), host),
            ("x-amz-target".to_owned(), target),
        ];
        if let Some(token) = &session_token {
            headers.push(("x-amz-security-token".to_owned(), token.clone()));
        }
        let signed = signature_headers(
            "POST",
            &url,
            &headers,
            body.as_bytes(),
            (&access_key_id, &secret_access_key, session_token.as_deref()),
            &self.region,
            SERVICE,
            SystemTime::now(),
        )
        .map_err(|detail| CallbackError::Signing { operation: operation.to_owned(), detail })?;
        let transport = |detail: String| CallbackError::Transport {
            operation: operation.to_owned(),
            endpoint: self.endpoint.clone(),
            detail,
        };
        let agent = agent(&url, false).map_err(transport)?;
        let mut request = agent.post(&url);
        for (name, value) in headers.iter().chain(signed.iter()) {
            if name != "host" {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let mut response = request.send(body.as_bytes()).map_err(|e| transport(e.to_string()))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = answer["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t).to_owned());
        let message = answer["message"].as_str().or(answer["Message"].as_str()).unwrap_or(&text).to_owned();
        Err(CallbackError::Refused {
            operation: operation.to_owned(),
            code: code.unwrap_or_else(|| format!("HTTP {status}")),
            message,
        })
    }
}

/// Where the CA bundle is when `SSL_CERT_FILE` does not say.
pub const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A client for one call to `url`: for HTTPS, rustls with ring and the roots of the CA bundle.
fn agent(url: &str, status_as_error: bool) -> Result<ureq::Agent, String> {
    let config = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(status_as_error);
    if !url.starts_with("https://") {
        return Ok(config.build().into());
    }
    let bundle = std::env::var("SSL_CERT_FILE").unwrap_or_else(|_| DEFAULT_CA_BUNDLE.to_owned());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(root_certs(&bundle)?)
        .build();
    Ok(config.tls_config(tls).build().into())
}

/// The certificates of a PEM bundle, as the roots HTTPS calls trust.
fn root_certs(bundle: &str) -> Result<ureq::tls::RootCerts, String> {
    let pem = std::fs::read(bundle)
        .map_err(|e| format!("no CA certificates for HTTPS at {bundle} ({e}); set SSL_CERT_FILE to a PEM bundle"))?;
    let certificates: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(certificate),
            _ => None,
        })
        .collect();
    if certificates.is_empty() {
        return Err(format!("{bundle} holds no PEM certificate; set SSL_CERT_FILE to a CA bundle"));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certificates))
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or_default().to_owned()
}

/// The headers SigV4 adds to a request (`x-amz-date`, `authorization`, and
/// `x-amz-security-token` when there is a session token), signing `headers` (which must hold
/// `host`) and the SHA-256 of `body`.
#[allow(clippy::too_many_arguments)]
pub fn signature_headers(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    (access_key_id, secret_access_key, session_token): (&str, &str, Option<&str>),
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity =
        Credentials::new(access_key_id, secret_access_key, session_token.map(str::to_owned), None, "task").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
    Ok(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// A one-request HTTP server on loopback, for tests of what is sent.
#[cfg(test)]
pub(crate) mod test_server {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A one-request HTTP server on loopback: answers `status` with `body`, hands back the request.
    pub fn serve_once(status: u16, body: &'static str) -> (String, std::thread::JoinHandle<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut request_body = vec![0; length];
            reader.read_exact(&mut request_body).unwrap();
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
            (head, String::from_utf8(request_body).unwrap())
        });
        (url, handle)
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::serve_once;
    use super::*;

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn at_2015_08_30_12_36_00() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn authorization(method: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let signed = signature_headers(
            method,
            "https://example.amazonaws.com/",
            &headers,
            body,
            (KEY, SECRET, None),
            "us-east-1",
            "service",
            at_2015_08_30_12_36_00(),
        )
        .unwrap();
        let date = signed.iter().find(|(k, _)| k == "x-amz-date").unwrap();
        assert_eq!(date.1, "20150830T123600Z");
        signed.into_iter().find(|(k, _)| k == "authorization").unwrap().1
    }

    /// AWS's SigV4 test suite (aws-signing-test-suite/v4, shipped with the aws-sigv4 crate):
    /// get-vanilla and post-vanilla, whose expected signatures do not cover the body's hash.
    #[test]
    fn aws_sigv4_test_vectors() {
        let vanilla = |method| authorization(method, &[("host", "example.amazonaws.com")], b"");
        assert_eq!(
            vanilla("GET"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            vanilla("POST"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn the_configuration_is_the_standard_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Callback::from_lookup(env(&[("AWS_REGION", "eu-west-1")])), Ok(None), "no token, no callback");
        let on_aws = Callback::from_lookup(env(&[
            (TOKEN_ENV, "t"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(on_aws.endpoint, "https://states.eu-west-1.amazonaws.com");
        assert_eq!(
            on_aws.credentials,
            CredentialSource::Container { url: "http://169.254.170.2/v2/credentials/abc".into(), authorization: None }
        );
        let local = Callback::from_lookup(env(&[
            (TOKEN_ENV, "t"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(local.endpoint, "http://127.0.0.1:4566");
        assert_eq!(Callback::from_lookup(env(&[(TOKEN_ENV, "t")])), Err(CallbackError::NoRegion));
        assert_eq!(
            Callback::from_lookup(env(&[(TOKEN_ENV, "t"), ("AWS_REGION", "us-east-1")])),
            Err(CallbackError::NoCredentials)
        );
    }

    fn callback(endpoint: &str) -> Callback {
        Callback {
            token: "tok".into(),
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            credentials: CredentialSource::Static {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
                session_token: Some("session".into()),
            },
        }
    }

    #[test]
    fn success_posts_a_signed_send_task_success_with_the_output_as_a_string() {
        let (url, server) = serve_once(200, "{}");
        callback(&url).success(&json!({"words": 3})).unwrap();
        let (head, body) = server.join().unwrap();
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("post / "), "{head}");
        assert!(head.contains("x-amz-target: awsstepfunctions.sendtasksuccess"), "{head}");
        assert!(head.contains("x-amz-security-token: session"), "{head}");
        assert!(head.contains("authorization: aws4-hmac-sha256 credential=akid/"), "{head}");
        assert!(head.contains("/us-east-1/states/aws4_request"), "{head}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body, json!({"taskToken": "tok", "output": "{\"words\":3}"}));
    }

    #[test]
    fn a_refusal_names_aws_s_error_and_an_output_over_the_limit_is_not_sent() {
        let (url, server) = serve_once(
            400,
            r#"{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out"}"#,
        );
        let err = callback(&url).failure("TaskFailed", "boom").unwrap_err();
        assert_eq!(
            err,
            CallbackError::Refused {
                operation: "SendTaskFailure".into(),
                code: "TaskTimedOut".into(),
                message: "Task Timed Out".into()
            }
        );
        let (_, body) = server.join().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "TaskFailed");
        let big = json!("x".repeat(MAX_OUTPUT_BYTES));
        assert!(matches!(callback("http://127.0.0.1:9").success(&big), Err(CallbackError::OutputTooLarge { .. })));
    }

    #[test]
    fn the_task_role_s_credentials_come_from_the_container_endpoint() {
        let (creds_url, creds) = serve_once(
            200,
            r#"{"AccessKeyId":"ROLEKEY","SecretAccessKey":"s","Token":"role-session","Expiration":"2030-01-01T00:00:00Z"}"#,
        );
        let (url, server) = serve_once(200, "{}");
        let mut callback = callback(&url);
        callback.credentials = CredentialSource::Container {
            url: format!("{creds_url}/v2/credentials/x"),
            authorization: Some("Bearer a".into()),
        };
        callback.heartbeat().unwrap();
        let (creds_head, _) = creds.join().unwrap();
        assert!(creds_head.starts_with("GET /v2/credentials/x"), "{creds_head}");
        assert!(creds_head.to_ascii_lowercase().contains("authorization: bearer a"), "{creds_head}");
        let (head, _) = server.join().unwrap();
        let head = head.to_ascii_lowercase();
        assert!(head.contains("credential=rolekey/") && head.contains("x-amz-security-token: role-session"), "{head}");
    }

    #[test]
    fn resolved_credentials_name_the_role_and_debug_hides_the_secrets() {
        let (creds_url, creds) = serve_once(
            200,
            r#"{"AccessKeyId":"ASIAROLE","SecretAccessKey":"s3cret","Token":"t0ken","Expiration":"2030-01-01T00:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/task"}"#,
        );
        let source = CredentialSource::Container { url: format!("{creds_url}/v2/credentials/x"), authorization: None };
        let resolved = source.resolve().unwrap();
        creds.join().unwrap();
        assert_eq!(resolved.access_key_id, "ASIAROLE");
        assert_eq!(resolved.session_token.as_deref(), Some("t0ken"));
        assert_eq!(resolved.role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/task"));
        let shown = format!("{resolved:?}");
        assert!(shown.contains("ASIAROLE") && !shown.contains("s3cret") && !shown.contains("t0ken"), "{shown}");
        let (creds_url, creds) = serve_once(400, r#"{"code":"InvalidIdInRequest"}"#);
        let source = CredentialSource::Container { url: format!("{creds_url}/v2/credentials/y"), authorization: None };
        let err = source.resolve().unwrap_err();
        creds.join().unwrap();
        assert!(matches!(&err, CallbackError::Credentials { url, .. } if url.ends_with("/v2/credentials/y")), "{err}");
    }

    #[test]
    fn https_trusts_the_certificates_of_the_ca_bundle_and_says_where_it_looked() {
        // The machine's own bundle (the image copies this file): many roots.
        assert!(root_certs(DEFAULT_CA_BUNDLE).is_ok(), "{DEFAULT_CA_BUNDLE} is a CA bundle");
        let err = root_certs("/nonexistent/ca.crt").unwrap_err();
        assert!(err.contains("/nonexistent/ca.crt") && err.contains("SSL_CERT_FILE"), "{err}");
        let not_pem = std::env::temp_dir().join(format!("not-a-bundle-{}", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        let err = root_certs(not_pem.to_str().unwrap()).unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
        let _ = std::fs::remove_file(not_pem);
        // Plain HTTP needs no bundle at all.
        assert!(agent("http://127.0.0.1:4566/", false).is_ok());
    }
}
