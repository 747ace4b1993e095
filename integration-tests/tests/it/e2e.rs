//! The whole flow, end to end, for real on the local cloud, through the CLI a user runs: build,
//! push, provision, run a workflow that succeeds and one whose task fails (caught, reported to SNS,
//! the execution FAILED and `run` exiting non-zero), update with a new image, run again, delete,
//! and nothing left behind: no stack, no task container. The task runs as a Docker container from
//! the pushed image; its log lines are read back from CloudWatch Logs and its notifications from an
//! SQS queue subscribed to the stack's topic.

use integration_tests::cli::{CliOutput, Provisioner};
use integration_tests::{LocalCloud, subscribed_queue};
use serde_json::Value;

const SERVICE: &str = service::SERVICE_NAME;

fn json_of(out: &CliOutput, what: &str) -> Value {
    out.assert_success(what);
    out.json()
}

/// The notifications the queue holds now (SNS wraps each in its envelope), removed from it.
async fn notifications(sqs: &aws_sdk_sqs::Client, queue_url: &str, expected: usize) -> Vec<Value> {
    let mut messages = Vec::new();
    // Delivery is asynchronous on AWS; the local cloud's is immediate, but ask a few times anyway.
    for _ in 0..20 {
        let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
        for message in out.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let inner = envelope["Message"].as_str().map(|m| serde_json::from_str(m).unwrap()).unwrap_or(envelope);
            messages.push(inner);
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if messages.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    messages
}

async fn log_lines(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, task_arn: &str) -> Vec<String> {
    let task_id = task_arn.rsplit('/').next().unwrap();
    let stream = format!("{SERVICE}/{SERVICE}/{task_id}");
    let out = logs.get_log_events().log_group_name(group).log_stream_name(&stream).start_from_head(true).send().await;
    let out = out.unwrap_or_else(|e| panic!("GetLogEvents {group} {stream}: {e:?}"));
    out.events().iter().map(|e| e.message().unwrap_or_default().trim_end().to_owned()).collect()
}

#[tokio::test]
async fn build_push_provision_run_update_run_delete() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let config = cloud.sdk_config();

    let created = json_of(&cli.run(&["provision", "--json"]).await, "provision");
    assert_eq!(created["outcome"], "created", "{created}");
    let outputs = &created["outputs"];
    let topic = outputs["TopicArn"].as_str().unwrap();
    let log_group = outputs["LogGroupName"].as_str().unwrap();

    let queue_url = subscribed_queue(config, topic, "e2e-notifications").await;
    let sqs = aws_sdk_sqs::Client::new(config);

    // A run that succeeds: states, the task's own log lines, the notification.
    let ok = cli.run(&["run", "--follow", "--json", "--input", r#"{"name":"e2e","text":"one two three"}"#]).await;
    let summary = json_of(&ok, "run --follow (success)");
    assert_eq!(summary["status"], "SUCCEEDED", "{summary}");
    assert_eq!(summary["states"], serde_json::json!(["RunTask", "NotifySuccess", "Succeeded"]), "{summary}");
    let task_arn = summary["task_arn"].as_str().expect("the task ARN from the execution history").to_owned();
    // The task's own result, returned through its task token, is the workflow's output.
    let result = &summary["output"]["result"];
    assert_eq!(result["greeting"], "Hello, e2e!", "{summary}");
    assert_eq!(result["words"], 3, "{summary}");
    assert_eq!(result["task_arn"], task_arn.as_str(), "the ARN the task read from its metadata: {summary}");
    let followed: Vec<String> =
        summary["log_lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect();
    let stored = log_lines(&aws_sdk_cloudwatchlogs::Client::new(config), log_group, &task_arn).await;
    assert_eq!(followed, stored, "run --follow showed exactly what CloudWatch Logs holds");
    let started =
        stored.iter().find_map(|l| serde_json::from_str::<Value>(l).ok().filter(|v| v["message"] == "task started"));
    let started = started.unwrap_or_else(|| panic!("no 'task started' line in {stored:?}"));
    assert_eq!(started["task_arn"], task_arn.as_str(), "the ARN the task read from its metadata endpoint");
    assert!(stored.iter().any(|l| l.contains("\"words\":3")), "the task's result line: {stored:?}");
    let sent = notifications(&sqs, &queue_url, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], "SUCCEEDED");
    assert_eq!(sent[0]["result"], *result, "the notification carries the task's result");

    // A run whose task fails: the task's own error and message (SendTaskFailure) are caught,
    // notified and the execution's; `run` exits non-zero with them and the task's last lines.
    let failed = cli.run(&["run", "--follow", "--input", r#"{"fail":true}"#]).await;
    assert_eq!(failed.code, Some(1), "{failed:?}");
    let error = &failed.stderr[failed.stderr.find("error:").expect("an error")..];
    let message = "the task failed on purpose: its input holds \"fail\": true";
    assert!(error.contains("ended FAILED in state RunTask: TaskFailed"), "{}", failed.stderr);
    assert!(error.contains(&format!("cause: {message}")), "{}", failed.stderr);
    assert!(error.contains("its last log lines:") && error.contains("task started"), "{}", failed.stderr);
    let sent = notifications(&sqs, &queue_url, 1).await;
    assert_eq!(sent.len(), 1, "exactly one notification: {sent:?}");
    assert_eq!(sent[0]["status"], "FAILED");
    assert_eq!((sent[0]["error"].as_str(), sent[0]["cause"].as_str()), (Some("TaskFailed"), Some(message)));

    // A new image, then a run of it.
    let mut bundle = std::fs::read(provisioner::image::inputs::DEFAULT_CA_CERTIFICATES).unwrap();
    bundle.extend_from_slice(b"# e2e\n");
    let bundle_path = std::env::temp_dir().join(format!("e2e-ca-{}.crt", std::process::id()));
    std::fs::write(&bundle_path, bundle).unwrap();
    let updated = cli.run(&["provision", "--json", "--ca-certificates", bundle_path.to_str().unwrap()]).await;
    let updated = json_of(&updated, "provision with a new image");
    assert_eq!(updated["outcome"], "updated", "{updated}");
    let again = json_of(&cli.run(&["run", "--follow", "--json", "--input", r#"{"name":"again"}"#]).await, "run again");
    assert_eq!(again["status"], "SUCCEEDED", "{again}");
    let ecs = aws_sdk_ecs::Client::new(config);
    let described = ecs
        .describe_tasks()
        .cluster(outputs["ClusterArn"].as_str().unwrap())
        .tasks(again["task_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(described.tasks()[0].containers()[0].image(), updated["image_uri"].as_str(), "the new image ran");
    let _ = std::fs::remove_file(bundle_path);

    // Delete: no stack, no task container of this local cloud.
    cli.run(&["delete", "--yes"]).await.assert_success("delete");
    let cf = aws_sdk_cloudformation::Client::new(config);
    assert!(cf.describe_stacks().stack_name(SERVICE).send().await.is_err(), "the stack is gone");
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let containers = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions { all: true, ..Default::default() }))
        .await
        .unwrap();
    let task_ids: Vec<&str> =
        [&task_arn, again["task_arn"].as_str().unwrap()].iter().map(|a| a.rsplit('/').next().unwrap()).collect();
    let left: Vec<_> = containers
        .iter()
        .filter(|c| c.labels.as_ref().is_some_and(|l| l.values().any(|v| task_ids.iter().any(|id| v.contains(id)))))
        .collect();
    assert!(left.is_empty(), "task containers left: {left:?}");
}
