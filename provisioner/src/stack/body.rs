//! Where the template goes: inline (`TemplateBody`) while it fits CloudFormation's 51,200-byte
//! limit, else uploaded to S3 under a content-addressed key (`TemplateURL`), so the same template
//! is one object however often it is deployed. The bucket is checked before anything else is done.

use sha2::{Digest, Sha256};

use super::{StackError, aws};

/// CloudFormation's limit on a `TemplateBody`.
pub const INLINE_LIMIT: usize = 51_200;

/// How CreateChangeSet receives the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// The S3 key a template is stored under: `<stack>/<sha256 of the body>.json`.
pub fn content_key(stack: &str, body: &str) -> String {
    format!("{stack}/{}.json", hex::encode(Sha256::digest(body.as_bytes())))
}

/// Fails before any work when a template of `size` bytes will need a bucket that is not given or
/// not usable.
pub async fn check(s3: &aws_sdk_s3::Client, size: usize, bucket: Option<&str>, region: &str) -> Result<(), StackError> {
    match bucket {
        None if size > INLINE_LIMIT => {
            Err(StackError::TemplateTooLarge { size, limit: INLINE_LIMIT, region: region.to_owned() })
        }
        None => Ok(()),
        Some(bucket) => s3.head_bucket().bucket(bucket).send().await.map(|_| ()).map_err(|e| StackError::Bucket {
            bucket: bucket.to_owned(),
            detail: crate::aws::explain("HeadBucket", &e),
        }),
    }
}

/// The template as CloudFormation will get it: inline when it fits, else uploaded to `bucket`.
pub async fn source(
    s3: &aws_sdk_s3::Client,
    stack: &str,
    body: &str,
    bucket: Option<&str>,
    region: &str,
) -> Result<TemplateSource, StackError> {
    let Some(bucket) = bucket.filter(|_| body.len() > INLINE_LIMIT) else {
        if body.len() > INLINE_LIMIT {
            return Err(StackError::TemplateTooLarge {
                size: body.len(),
                limit: INLINE_LIMIT,
                region: region.to_owned(),
            });
        }
        return Ok(TemplateSource::Body(body.to_owned()));
    };
    let key = content_key(stack, body);
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .map_err(|e| aws(&format!("PutObject s3://{bucket}/{key}"), &e))?;
    Ok(TemplateSource::Url(object_url(bucket, &key, region)))
}

/// An S3 client for `config`. With a custom endpoint (LocalStack, the local cloud) buckets are
/// addressed by path: `bucket.127.0.0.1` resolves nowhere.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The object's URL as CloudFormation reads it: S3's regional path-style form, which CloudFormation
/// on AWS and the emulators behind a custom endpoint (LocalStack, moto) all map to the bucket and
/// key, whatever endpoint the upload itself went through.
fn object_url(bucket: &str, key: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://s3.{region}.{domain}/{bucket}/{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_content_hash_under_the_stack() {
        let key = content_key("servicefull", "{}");
        assert_eq!(key, "servicefull/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.json");
        assert_ne!(content_key("servicefull", "{ }"), key);
    }

    #[test]
    fn the_url_is_the_regional_path_style_one() {
        assert_eq!(object_url("b", "s/k.json", "eu-west-1"), "https://s3.eu-west-1.amazonaws.com/b/s/k.json");
        assert_eq!(object_url("b", "k", "cn-north-1"), "https://s3.cn-north-1.amazonaws.com.cn/b/k");
    }
}
