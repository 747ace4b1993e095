//! Hostile input, one test per row of the README's "Hostile inputs" table: each bad input gets an
//! error that names the value and the fix, a non-zero exit (or, from the gateway, an AWS-style
//! error, never a 500), and leaves nothing half-created. The CLI rows run the provisioner with its
//! AWS endpoint pointed at a loopback port nothing answers on, so an input that is not refused
//! before the first AWS call shows as "did not answer" instead; one test then runs the same inputs
//! against a local cloud and finds nothing made. The last test keeps the README's table honest.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::cli::{CliOutput, Provisioner, provisioner_binary};
use integration_tests::{LocalCloud, loopback_agent};

/// A port on 127.0.0.1 that nothing listens on.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `provisioner ARGS` with a clean AWS environment (test credentials, us-east-1, the endpoint
/// `endpoint`), `env` applied last (a value of None removes the variable).
async fn provisioner_at(endpoint: &str, args: &[&str], env: &[(&str, Option<&str>)]) -> CliOutput {
    let binary = provisioner_binary().await;
    let mut command = Command::new(&binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("PROVISIONER_REGISTRY")
        .env_remove("LOCALCLOUD_REGISTRY")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    CliOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The provisioner pointed at nothing: whatever it refuses, it refuses before any AWS call.
async fn provisioner(args: &[&str]) -> CliOutput {
    provisioner_at(&format!("http://127.0.0.1:{}", dead_port()), args, &[]).await
}

/// Exit 1, nothing on stdout, every needle on stderr, and no sign of an AWS call or a build.
fn assert_refused(out: &CliOutput, needles: &[&str]) {
    assert_eq!(out.code, Some(1), "expected exit 1:\nstdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "stdout must stay empty on error:\n{}", out.stdout);
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle:?} missing from stderr:\n{}", out.stderr);
    }
    for sign in ["did not answer", "compiling", "provisioning stack", "running the workflow"] {
        assert!(!out.stderr.contains(sign), "it got as far as {sign:?} before refusing:\n{}", out.stderr);
    }
}

/// A file under the tests' temporary directory (in target/, so nothing is left elsewhere).
fn file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

// ---- Names and sizes ---------------------------------------------------------------------------

#[tokio::test]
async fn an_invalid_service_name_is_refused_before_any_aws_call() {
    let out = provisioner(&["provision", "--service-name", "My_Service"]).await;
    assert_refused(&out, &["\"My_Service\"", "holds only letters, digits and hyphens"]);
}

#[tokio::test]
async fn an_invalid_stack_name_is_refused_before_any_aws_call() {
    let out = provisioner(&["provision", "--stack-name", "9-lives_stack"]).await;
    assert_refused(&out, &["--stack-name", "\"9-lives_stack\"", "starts with a letter"]);
}

#[tokio::test]
async fn an_invalid_repository_name_in_a_base_image_is_refused_before_building() {
    let base = "127.0.0.1:5055/My Repo:1";
    let out = provisioner(&["push", "--builder", "oci", "--registry", "127.0.0.1:5055", "--base", base]).await;
    assert_refused(&out, &["\"My Repo\"", "lowercase letters"]);
}

#[tokio::test]
async fn an_impossible_cpu_memory_pair_is_refused_before_any_aws_call() {
    let out = provisioner(&["provision", "--cpu", "256", "--memory", "4096"]).await;
    assert_refused(&out, &["cpu 256 with memory 4096", "512, 1024, 2048"]);
}

// ---- run --input -------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_input_json_is_refused_before_starting_an_execution() {
    let out = provisioner(&["run", "--follow", "--input", "{name: Ada}"]).await;
    assert_refused(&out, &["\"{name: Ada}\" is not JSON", "--input '{\"name\":\"Ada\"}'"]);
}

#[tokio::test]
async fn an_input_over_256_kib_is_refused_before_starting_an_execution() {
    let big = format!("{{\"text\":\"{}\"}}", "x".repeat(256 * 1024));
    let path = file("big-input.json", big.as_bytes());
    let out = provisioner(&["run", "--input", &format!("@{}", path.display())]).await;
    assert_refused(&out, &[&format!("the input is {} bytes", big.len()), "256 KiB", "pass a reference"]);
}

// ---- --merge -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_malformed_merge_file_is_refused() {
    let path = file("malformed.json", br#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue",}}"#);
    let out = provisioner(&["provision", "--merge", path.to_str().unwrap()]).await;
    assert_refused(&out, &[path.to_str().unwrap(), "not a template fragment in JSON", "line 1 column"]);
}

#[tokio::test]
async fn a_merge_file_that_defines_a_duplicate_logical_id_is_refused() {
    let path = file("duplicate.yaml", b"Resources:\n  StateMachine:\n    Type: AWS::SQS::Queue\n");
    // StateMachine is the generated workflow's logical ID.
    let out = provisioner(&["provision", "--merge", path.to_str().unwrap()]).await;
    assert_refused(&out, &["duplicate logical ID \"StateMachine\"", "rename one of them", "duplicate.yaml"]);
}

#[tokio::test]
async fn a_yaml_alias_bomb_in_a_merge_file_is_refused() {
    // The billion laughs: nine levels of nine aliases, a billion strings if expanded.
    let mut bomb = String::from("Metadata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        let previous = format!("*a{}", level - 1);
        bomb.push_str(&format!("  a{level}: &a{level} [{}]\n", [previous.as_str(); 9].join(", ")));
    }
    bomb.push_str("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n");
    let path = file("bomb.yaml", bomb.as_bytes());
    let out = provisioner(&["template", "--merge", path.to_str().unwrap()]).await;
    assert_refused(&out, &["bomb.yaml", "not a template fragment in YAML", "repetition limit"]);
}

#[tokio::test]
async fn a_merge_path_that_does_not_exist_is_refused() {
    let out = provisioner(&["provision", "--merge", "/nonexistent/extra.yaml"]).await;
    assert_refused(&out, &["/nonexistent/extra.yaml", "given to --merge", "check the path"]);
}

// ---- State machines in a merged fragment ---------------------------------------------------------

/// `template --merge` of a fragment holding one state machine with `definition`.
async fn merge_state_machine(name: &str, definition: serde_json::Value) -> CliOutput {
    let fragment = serde_json::json!({"Resources": {"Extra": {"Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
            "DefinitionString": {"Fn::Sub": definition.to_string()}}}}});
    let path = file(&format!("{name}.json"), fragment.to_string().as_bytes());
    provisioner(&["template", "--merge", path.to_str().unwrap()]).await
}

#[tokio::test]
async fn a_state_machine_with_an_unreachable_state_is_refused() {
    let out = merge_state_machine(
        "unreachable",
        serde_json::json!({"StartAt": "A", "States": {
        "A": {"Type": "Succeed"}, "Orphan": {"Type": "Pass", "End": true}}}),
    )
    .await;
    assert_refused(&out, &["state machine Extra", "state \"Orphan\" can never run", "link it from another state"]);
}

#[tokio::test]
async fn a_state_machine_with_a_next_to_nowhere_is_refused() {
    let out = merge_state_machine(
        "nowhere",
        serde_json::json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}}}),
    )
    .await;
    assert_refused(&out, &["state \"A\": Next names \"Nowhere\"", "use one of \"A\", \"B\""]);
}

#[tokio::test]
async fn a_state_machine_with_a_cycle_and_no_way_out_is_refused() {
    let out = merge_state_machine("cycle", serde_json::json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Choice", "Choices": [{"Variable": "$.spin", "IsPresent": true, "Next": "Spin"}], "Default": "Done"},
        "Spin": {"Type": "Wait", "Seconds": 1, "Next": "Again"},
        "Again": {"Type": "Pass", "Next": "Spin"},
        "Done": {"Type": "Succeed"}}}))
    .await;
    assert_refused(&out, &["state \"Spin\" is in a loop with no way out", "Give the loop a way out"]);
}

#[tokio::test]
async fn a_state_machine_with_a_bad_jsonpath_is_refused() {
    let out = merge_state_machine(
        "jsonpath",
        serde_json::json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.items[0", "End": true}}}),
    )
    .await;
    assert_refused(&out, &["InputPath \"$.items[0\" is not a valid JSONPath", "not closed", "write e.g."]);
}

#[tokio::test]
async fn a_state_machine_with_a_jsonata_expression_that_does_not_parse_is_refused() {
    let out = merge_state_machine(
        "jsonata",
        serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": {"total": "{% $sum($states.input.prices %}"}, "End": true}}}),
    )
    .await;
    assert_refused(
        &out,
        &["state \"A\"", "the JSONata expression '$sum($states.input.prices' of field Output does not parse"],
    );
}

#[tokio::test]
async fn a_state_machine_with_an_unknown_intrinsic_is_refused() {
    let out = merge_state_machine(
        "intrinsic",
        serde_json::json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"greeting.$": "States.Greet($.name)"}, "End": true}}}),
    )
    .await;
    assert_refused(&out, &["\"States.Greet($.name)\" is not a valid intrinsic function call", "States.Format"]);
}

// ---- Where AWS is and who calls it ----------------------------------------------------------------

#[tokio::test]
async fn a_region_that_does_not_exist_is_refused() {
    let out =
        provisioner_at(&format!("http://127.0.0.1:{}", dead_port()), &["status"], &[("AWS_REGION", Some("mars-1"))])
            .await;
    assert_refused(&out, &["\"mars-1\" is not an AWS region", "us-east-1", "set AWS_REGION"]);
}

#[tokio::test]
async fn missing_credentials_say_how_to_provide_them() {
    let endpoint = format!("http://127.0.0.1:{}", dead_port());
    let env = [("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)];
    let out = provisioner_at(&endpoint, &["status"], &env).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("no usable AWS credentials") && out.stderr.contains("AWS_ACCESS_KEY_ID"),
        "{}",
        out.stderr
    );
}

/// An endpoint that refuses every request as AWS refuses an unknown access key (STS's answer).
fn refusing_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                <Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.\
                </Message></Error><RequestId>0</RequestId></ErrorResponse>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn refused_credentials_say_so_and_how_to_fix_them() {
    let out = provisioner_at(&refusing_endpoint(), &["status"], &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    for needle in ["GetCallerIdentity", "InvalidClientTokenId", "AWS refused these credentials", "AWS_ACCESS_KEY_ID"] {
        assert!(out.stderr.contains(needle), "{needle:?} missing:\n{}", out.stderr);
    }
}

// ---- Nothing half-created ------------------------------------------------------------------------

#[tokio::test]
async fn hostile_provision_inputs_leave_nothing_in_the_local_cloud() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let cycle = file(
        "cloud-cycle.json",
        br#"{"Resources": {"Extra": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": "arn:aws:iam::000000000000:role/x",
            "Definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Succeed"}}}}}}}"#,
    );
    let attempts: Vec<Vec<&str>> = vec![
        vec!["provision", "--service-name", "hostile_one"],
        vec!["provision", "--service-name", "hostile-two", "--stack-name", "9-lives_stack"],
        vec!["provision", "--service-name", "hostile-three", "--cpu", "256", "--memory", "4096"],
        vec!["provision", "--service-name", "hostile-four", "--merge", "/nonexistent/extra.yaml"],
        vec!["provision", "--service-name", "hostile-five", "--merge", cycle.to_str().unwrap()],
    ];
    for args in &attempts {
        let out = cli.run(args).await;
        assert_eq!(out.code, Some(1), "{args:?} should fail:\n{}", out.stderr);
        assert!(!out.stderr.contains("provisioning stack"), "{args:?} got as far as the stack:\n{}", out.stderr);
    }
    let out = Provisioner::for_cloud(&cloud)
        .with_env("AWS_REGION", "mars-1")
        .run(&["provision", "--service-name", "hostile-six"])
        .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let out = cli.run(&["run", "--stack-name", "hostile-seven", "--input", "{bad"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);

    let names =
        ["hostile_one", "hostile-two", "9-lives_stack", "hostile-three", "hostile-four", "hostile-five", "hostile-six"];
    let cf = aws_sdk_cloudformation::Client::new(cloud.sdk_config());
    let stacks = cf.list_stacks().send().await.expect("ListStacks");
    let made: Vec<&str> = stacks
        .stack_summaries()
        .iter()
        .filter(|s| s.stack_status().is_some_and(|st| st.as_str() != "DELETE_COMPLETE"))
        .filter_map(|s| s.stack_name())
        .filter(|n| names.contains(n))
        .collect();
    assert!(made.is_empty(), "stacks were made: {made:?}");
    let ecr = aws_sdk_ecr::Client::new(cloud.sdk_config());
    let repositories = ecr.describe_repositories().send().await.expect("DescribeRepositories");
    assert!(
        repositories.repositories().iter().all(|r| !names.contains(&r.repository_name().unwrap_or_default())),
        "ECR repositories were made: {:?}",
        repositories.repositories()
    );
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let machines = sfn.list_state_machines().send().await.expect("ListStateMachines");
    assert!(machines.state_machines().iter().all(|m| !m.name().contains("hostile")), "{:?}", machines.state_machines());
    let catalog: serde_json::Value = ureq::get(format!("http://{}/v2/_catalog", cloud.registry()))
        .call()
        .expect("the registry's catalog")
        .body_mut()
        .read_json()
        .unwrap();
    let pushed = catalog["repositories"].as_array().cloned().unwrap_or_default();
    assert!(pushed.iter().all(|r| !names.iter().any(|n| r.as_str() == Some(n))), "images were pushed: {catalog}");
    if cloud.is_own_moto() {
        assert!(stacks.stack_summaries().is_empty(), "{:?}", stacks.stack_summaries());
        assert!(repositories.repositories().is_empty() && pushed.is_empty());
    }
}

// ---- The gateway ----------------------------------------------------------------------------------

/// A raw Step Functions JSON 1.0 call to the gateway: the status and the body as JSON (or, when it
/// is not JSON, a failure naming what came back).
fn sfn_call(endpoint: &str, target: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut response = loopback_agent()
        .post(endpoint)
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send(&body[..])
        .unwrap_or_else(|e| panic!("{target}: the gateway did not answer: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{target}: answer {status} is not JSON ({e}): {text}"));
    (status, json)
}

/// The AWS error shape: a 4xx, `__type` and a message that contains `needle`; then the gateway
/// still answers a good request.
fn assert_aws_error(endpoint: &str, (status, body): (u16, serde_json::Value), code: &str, needle: &str) {
    assert!((400..500).contains(&status), "expected a 4xx, got {status}: {body}");
    assert_eq!(body["__type"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} missing from {message:?}");
    let (status, body) = sfn_call(endpoint, "AWSStepFunctions.ListStateMachines", b"{}".to_vec());
    assert_eq!(status, 200, "the gateway no longer answers: {body}");
}

#[tokio::test]
async fn the_gateway_answers_a_body_that_is_not_json_with_serialization_exception() {
    let cloud = LocalCloud::start().await;
    let endpoint = cloud.endpoint_url().expect("an endpoint");
    // A served operation (ours) and a forwarded one (moto's) alike.
    for target in ["AWSStepFunctions.StartExecution", "AWSStepFunctions.ListStateMachines"] {
        let answer = sfn_call(endpoint, target, b"name=Ada&not json".to_vec());
        assert_aws_error(endpoint, answer, "SerializationException", "not JSON");
    }
}

#[tokio::test]
async fn the_gateway_answers_an_unknown_target_with_unknown_operation_exception() {
    let cloud = LocalCloud::start().await;
    let endpoint = cloud.endpoint_url().expect("an endpoint");
    let answer = sfn_call(endpoint, "AWSStepFunctions.Frobnicate", b"{}".to_vec());
    assert_aws_error(endpoint, answer, "UnknownOperationException", "Frobnicate");
}

#[tokio::test]
async fn the_gateway_answers_a_body_larger_than_aws_allows_with_an_aws_error() {
    let cloud = LocalCloud::start().await;
    let endpoint = cloud.endpoint_url().expect("an endpoint");
    // Over Step Functions' 1 MB request limit, and large enough that a gateway that answers before
    // reading it all breaks the pipe under the sending client: refused whole, and answered.
    let huge = format!(
        "{{\"stateMachineArn\":\"arn:aws:states:us-east-1:123456789012:stateMachine:x\",\"input\":\"{}\"}}",
        "x".repeat(8 << 20)
    );
    let answer = sfn_call(endpoint, "AWSStepFunctions.StartExecution", huge.into_bytes());
    assert_eq!(answer.0, 413, "{}", answer.1);
    assert_aws_error(endpoint, answer, "RequestEntityTooLargeException", "bytes");
    // Within the request limit, but an input over the 256 KiB an execution takes.
    let input = serde_json::json!({"text": "x".repeat(300 * 1024)}).to_string();
    let body =
        serde_json::json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x", "input": input});
    let answer = sfn_call(endpoint, "AWSStepFunctions.StartExecution", body.to_string().into_bytes());
    assert_aws_error(endpoint, answer, "InvalidExecutionInput", "256 KiB");
}

// ---- The README's table --------------------------------------------------------------------------

/// Every test the README's "Hostile inputs" table names exists, so the table cannot drift from the
/// tests (and every row names one).
#[test]
fn every_test_the_hostile_inputs_table_names_exists() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let readme = std::fs::read_to_string(workspace.join("README.md")).unwrap();
    let section = readme
        .split("\n## Hostile inputs\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has a \"## Hostile inputs\" section");
    let rows: Vec<&str> =
        section.lines().filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| input")).collect();
    assert!(rows.len() >= 30, "the table has {} rows", rows.len());
    let mut sources = Vec::new();
    let mut pending = vec![workspace.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir()
                && !matches!(name.to_str(), Some("target" | ".git" | ".venv" | "node_modules" | ".localcloud"))
            {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "py" || e == "json") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                sources.push((path, text));
            }
        }
    }
    let mut missing = Vec::new();
    for row in rows {
        let test_column = row.trim_end_matches('|').rsplit('|').next().unwrap_or_default();
        let named: Vec<&str> = test_column.split('`').skip(1).step_by(2).collect();
        assert!(!named.is_empty(), "this row names no test: {row}");
        for name in named {
            // `file.rs::test` names the file too (the end of its path): it must be there, so a
            // moved test file shows here.
            let (file, function) = name.rsplit_once("::").map_or((None, name), |(f, n)| (Some(f), n));
            // A Rust test, a pytest test, or a named case of a data-driven table.
            let found = sources.iter().filter(|(path, _)| file.is_none_or(|f| path.ends_with(f))).any(|(_, text)| {
                text.contains(&format!("fn {function}("))
                    || text.contains(&format!("def {function}("))
                    || text.contains(&format!("\"name\": \"{function}\""))
            });
            if !found {
                missing.push(name.to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "the README names tests that do not exist: {missing:?}");
}
