//! The one endpoint forwards what it does not serve to moto unchanged: the query protocol
//! (CloudFormation), JSON 1.1 (CloudWatch Logs, the ECS operations moto keeps), and REST with a
//! large body both ways (S3). ECR through the endpoint is in localcloud.rs.

use integration_tests::{LocalCloud, loopback_agent};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A SigV4-shaped Authorization header (moto reads the service and region from its scope and
/// checks no signature).
fn authorization(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

#[tokio::test]
async fn cloudformation_creates_and_describes_a_stack_through_the_gateway() {
    let cloud = LocalCloud::start().await;
    let Some(endpoint) = cloud.endpoint_url().map(str::to_owned) else {
        eprintln!("skipped: real AWS; a raw unsigned request would be refused");
        return;
    };
    let stack = unique("gw");
    let template = r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}},"Outputs":{"Arn":{"Value":{"Ref":"Topic"}}}}"#;
    let form = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
    };
    let post = |body: String| {
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || {
            let mut response = loopback_agent()
                .post(&format!("{endpoint}/"))
                .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
                .header("authorization", &authorization("cloudformation"))
                .send(body)
                .unwrap();
            (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
        })
    };
    let (status, text) = post(form(&[
        ("Action", "CreateStack"),
        ("Version", "2010-05-15"),
        ("StackName", &stack),
        ("TemplateBody", template),
    ]))
    .await
    .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<StackId>arn:aws:cloudformation:us-east-1:"), "{text}");
    let (status, text) =
        post(form(&[("Action", "DescribeStacks"), ("Version", "2010-05-15"), ("StackName", &stack)])).await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<StackStatus>CREATE_COMPLETE</StackStatus>"), "{text}");
    assert!(text.contains(":sns:us-east-1:"), "the output names the topic: {text}");
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn cloudwatch_logs_round_trips_events_through_the_gateway() {
    let cloud = LocalCloud::start().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(cloud.sdk_config());
    let group = unique("/gateway/test");
    logs.create_log_group().log_group_name(&group).send().await.unwrap();
    logs.create_log_stream().log_group_name(&group).log_stream_name("s").send().await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let event = |i: i64| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(now + i)
            .message(format!("line {i}"))
            .build()
            .unwrap()
    };
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("s")
        .log_events(event(0))
        .log_events(event(1))
        .send()
        .await
        .unwrap();
    let read =
        logs.get_log_events().log_group_name(&group).log_stream_name("s").start_from_head(true).send().await.unwrap();
    let messages: Vec<&str> = read.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages, ["line 0", "line 1"]);
    logs.delete_log_group().log_group_name(&group).send().await.unwrap();
}

#[tokio::test]
async fn the_ecs_operations_moto_keeps_are_forwarded_with_their_errors() {
    let cloud = LocalCloud::start().await;
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let name = unique("fwd");
    let created = ecs.create_cluster().cluster_name(&name).send().await.unwrap();
    assert_eq!(created.cluster().and_then(|c| c.cluster_name()), Some(name.as_str()));
    let err = ecs.describe_task_definition().task_definition(unique("no-such-family")).send().await.unwrap_err();
    assert!(err.as_service_error().is_some_and(|e| e.is_client_exception()), "{err:?}");
    ecs.delete_cluster().cluster(&name).send().await.unwrap();
}

#[tokio::test]
async fn a_large_body_round_trips_through_the_gateway() {
    let cloud = LocalCloud::start().await;
    let Some(endpoint) = cloud.endpoint_url().map(str::to_owned) else {
        eprintln!("skipped: real AWS; a raw unsigned request would be refused");
        return;
    };
    let bucket = unique("gateway-large").to_lowercase();
    // 48 MiB of bytes that do not repeat on any short period, so a lost or reordered chunk shows.
    let body: Vec<u8> = (0u32..12 * 1024 * 1024).flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()).collect();
    let sent = body.clone();
    let (put_bucket, put_object, got) = tokio::task::spawn_blocking(move || {
        let agent = loopback_agent();
        let put_bucket = agent
            .put(&format!("{endpoint}/{bucket}"))
            .header("authorization", &authorization("s3"))
            .send_empty()
            .unwrap()
            .status()
            .as_u16();
        let put_object = agent
            .put(&format!("{endpoint}/{bucket}/blob"))
            .header("authorization", &authorization("s3"))
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .send(&sent[..])
            .unwrap()
            .status()
            .as_u16();
        let mut response = agent
            .get(&format!("{endpoint}/{bucket}/blob"))
            .header("authorization", &authorization("s3"))
            .call()
            .unwrap();
        let got = response.body_mut().with_config().limit(u64::MAX).read_to_vec().unwrap();
        (put_bucket, put_object, got)
    })
    .await
    .unwrap();
    assert_eq!((put_bucket, put_object), (200, 200));
    assert_eq!(got.len(), body.len());
    assert!(got == body, "the object read back differs from the one written");
}
