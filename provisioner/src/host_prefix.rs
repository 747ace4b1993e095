//! `AWS_DISABLE_HOST_PREFIX_INJECTION=true`, the standard setting with which the AWS CLI and
//! the other SDKs send every call to the configured endpoint as it is. Step Functions' model puts
//! `sync-` before the host of TestState and StartSyncExecution, so without it a call meant for a
//! local endpoint goes to `http://sync-127.0.0.1:4566/` and cannot connect. The Rust SDK (aws-sdk-sfn
//! 1.125) always adds the prefix and reads no such setting, so the provisioner's Step Functions
//! client honours it here: with the variable `true`, an interceptor takes the prefix off again
//! before the request is signed. Unset (real AWS), nothing changes.

use aws_config::SdkConfig;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;

/// The setting's name, as the AWS CLI and SDKs read it.
pub const ENV: &str = "AWS_DISABLE_HOST_PREFIX_INJECTION";

/// The Step Functions client the provisioner uses: `config`'s, honouring [`ENV`].
pub fn sfn_client(config: &SdkConfig) -> aws_sdk_sfn::Client {
    sfn_client_with(config, disabled(std::env::var(ENV).ok().as_deref()))
}

/// A Step Functions client for `config` that sends TestState and StartSyncExecution to the
/// configured host itself when `no_host_prefix`.
pub fn sfn_client_with(config: &SdkConfig, no_host_prefix: bool) -> aws_sdk_sfn::Client {
    let mut builder = aws_sdk_sfn::config::Builder::from(config);
    if no_host_prefix {
        builder = builder.interceptor(NoHostPrefix);
    }
    aws_sdk_sfn::Client::from_conf(builder.build())
}

fn disabled(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[derive(Debug)]
struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = without_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// The URI without the `sync-` host prefix, when it has one.
fn without_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    Some(format!("{scheme}://{}", rest.strip_prefix("sync-")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_true_disables_and_only_the_prefix_goes() {
        assert!(disabled(Some("true")) && disabled(Some("TRUE")) && disabled(Some(" true ")));
        assert!(!disabled(None) && !disabled(Some("false")) && !disabled(Some("1")));
        assert_eq!(without_prefix("http://sync-127.0.0.1:4566/").as_deref(), Some("http://127.0.0.1:4566/"));
        assert_eq!(
            without_prefix("https://sync-states.us-east-1.amazonaws.com/").as_deref(),
            Some("https://states.us-east-1.amazonaws.com/")
        );
        assert_eq!(without_prefix("http://127.0.0.1:4566/"), None);
    }
}
