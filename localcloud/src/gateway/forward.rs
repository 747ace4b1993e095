//! Forwarding to moto: the client's request as it came (method, path, query, headers, Host
//! included, so moto builds URLs that point back at the gateway), bodies streamed both ways.
//! Only hop-by-hop headers, which belong to each connection, are dropped.

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName};
use hyper::{Request, Response, StatusCode};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::ResponseBody;
use crate::awsjson::AwsError;
use crate::upstream::Upstream;

/// The headers of one connection (RFC 9110 section 7.6.1), and `expect`: hyper answers the
/// client's 100-continue itself, and moto must not be asked to.
const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"];

/// Removes hop-by-hop headers, including any the Connection header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| name.trim().parse().ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

pub async fn forward(upstream: &Upstream, request: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    forward_parts(upstream, parts, body.boxed_unsync()).await
}

/// Forwards a request whose body the gateway already read (to check it) as it came.
pub async fn forward_read(
    upstream: &Upstream,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<ResponseBody> {
    forward_parts(upstream, parts, Full::new(body).map_err(|never| match never {}).boxed_unsync()).await
}

async fn forward_parts(
    upstream: &Upstream,
    mut parts: hyper::http::request::Parts,
    body: crate::upstream::UpstreamBody,
) -> Response<ResponseBody> {
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    parts.uri = match upstream.uri(&path_and_query) {
        Ok(uri) => uri,
        Err(e) => {
            return super::respond(
                AwsError::new(StatusCode::BAD_REQUEST, "InvalidURI", format!("{path_and_query}: {e}")).to_response(),
            );
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    let method = parts.method.clone();
    let json_protocol = parts.headers.contains_key("x-amz-target");
    let request = Request::from_parts(parts, body);
    match upstream.send(request).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, body.boxed_unsync())
        }
        Err(e) => {
            tracing::warn!(%method, path = %path_and_query, "moto did not answer: {e}");
            let error = AwsError::new(
                StatusCode::BAD_GATEWAY,
                "ServiceUnavailable",
                format!(
                    "the local cloud's AWS emulator (moto, 127.0.0.1:{}) did not answer: {e}; \
                     `localcloud status` shows whether it runs, `localcloud up` restarts it",
                    upstream.port()
                ),
            );
            super::respond(if json_protocol { error.to_response() } else { error.to_query_response() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_and_end_to_end_headers_stay() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("host", "127.0.0.1:4566"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=x"),
            ("content-length", "12"),
            ("x-amz-content-sha256", "abc"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("expect", "100-continue"),
        ] {
            headers.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["authorization", "content-length", "host", "x-amz-content-sha256"]);
        assert_eq!(headers["host"], "127.0.0.1:4566", "Host is kept as the client sent it");
    }
}
