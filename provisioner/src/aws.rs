//! AWS SDK errors as messages a user can act on: which call failed, the SDK's own words (each
//! cause once, no Debug dumps), and the likely fix for the failures every AWS tool meets: an
//! endpoint that does not answer, no credentials, no region.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;

/// `operation` failed: the SDK's explanation and, when recognisable, what to do.
pub fn explain<E, R>(operation: &str, err: &SdkError<E, R>) -> String
where
    E: Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let detail = runtime::exit::error_chain(err);
    let hint = match err {
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Some(NO_ANSWER),
        SdkError::TimeoutError(_) => Some(NO_ANSWER),
        _ if caused_by::<CredentialsError>(err) => Some(NO_CREDENTIALS),
        _ if REFUSED_CODES.iter().any(|code| detail.contains(code)) => Some(REFUSED),
        _ if detail.contains("signing region") => Some(NO_REGION),
        _ => None,
    };
    match hint {
        Some(hint) => format!("{operation} failed: {detail}; {hint}"),
        None => format!("{operation} failed: {detail}"),
    }
}

const NO_ANSWER: &str = "the AWS endpoint did not answer: check AWS_ENDPOINT_URL (and any AWS_ENDPOINT_URL_<SERVICE>), \
                         or start the local cloud with `just up` and `. .localcloud/env`";
const NO_CREDENTIALS: &str = "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                              AWS_SECRET_ACCESS_KEY (`. .localcloud/env` sets test ones for the local cloud)";
/// The codes AWS answers with when it does not accept the credentials a request was signed with.
const REFUSED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "InvalidSignatureException",
    "IncompleteSignature",
];
const REFUSED: &str = "AWS refused these credentials (the key is unknown, expired, or its secret does not match): \
                       check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for \
                       temporary ones); `aws sts get-caller-identity` shows whether they work";
const NO_REGION: &str = "no AWS region: set AWS_REGION, or use a profile that has one";

fn caused_by<T: Error + 'static>(err: &(dyn Error + 'static)) -> bool {
    let mut current: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<T>().is_some() {
            return true;
        }
        current = e.source();
    }
    false
}
