//! What the assembled template must say, checked on the template itself (moto loses or ignores
//! several of these properties, so a deployed stack cannot show them): the network's two zones,
//! the security group the task really uses, least-privilege roles, the Fargate task settings, the
//! outputs; and the errors for a bad task size, a bad name, a duplicate logical ID, a mis-ordered
//! chain and an unsubstituted placeholder.

use std::collections::BTreeSet;
use std::path::PathBuf;

use model::states::{StateMachine, Succeed};
use model::template::{LogicalId, Resource, Template};
use provisioner::decorators::{
    self, Decorator, DecoratorChain, DecoratorContext, DecoratorError, cluster, image, state_machine,
};
use provisioner::template::{Format, TemplateArgs, render};
use serde_json::{Value, json};
use service::description::{self, WorkflowResources};

fn template_value() -> Value {
    let (template, _) = decorators::assemble(description::describe().unwrap(), Some("example/image:1".into())).unwrap();
    serde_json::from_str(&template.to_json().unwrap()).unwrap()
}

fn statements(role: &Value) -> Vec<Value> {
    role["Properties"]["Policies"]
        .as_array()
        .map(|policies| {
            policies.iter().flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone()).collect()
        })
        .unwrap_or_default()
}

fn args() -> TemplateArgs {
    TemplateArgs { format: Format::Json, image: None, service: Default::default() }
}

#[test]
fn the_two_subnets_are_in_different_zones_and_public() {
    let t = template_value();
    let resources = &t["Resources"];
    assert_eq!(
        resources["PublicSubnet1"]["Properties"]["AvailabilityZone"],
        json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
    );
    assert_eq!(
        resources["PublicSubnet2"]["Properties"]["AvailabilityZone"],
        json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})
    );
    assert_ne!(
        resources["PublicSubnet1"]["Properties"]["CidrBlock"],
        resources["PublicSubnet2"]["Properties"]["CidrBlock"]
    );
    assert_eq!(resources["Vpc"]["Properties"]["EnableDnsHostnames"], true);
    assert_eq!(resources["Vpc"]["Properties"]["EnableDnsSupport"], true);
    assert_eq!(resources["PublicDefaultRoute"]["Properties"]["DestinationCidrBlock"], "0.0.0.0/0");
    assert_eq!(resources["PublicDefaultRoute"]["DependsOn"], json!(["InternetGatewayAttachment"]));
    for n in [1, 2] {
        let association = &resources[format!("PublicSubnet{n}RouteTableAssociation")]["Properties"];
        assert_eq!(association["SubnetId"], json!({"Ref": format!("PublicSubnet{n}")}));
        assert_eq!(association["RouteTableId"], json!({"Ref": "PublicRouteTable"}));
    }
}

#[test]
fn the_task_runs_in_the_egress_only_security_group() {
    let t = template_value();
    let group = &t["Resources"]["TaskSecurityGroup"]["Properties"];
    assert!(group.get("SecurityGroupIngress").is_none());
    assert_eq!(group["SecurityGroupEgress"][0]["CidrIp"], "0.0.0.0/0");
    let sub = &t["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"];
    let definition: Value = serde_json::from_str(sub[0].as_str().unwrap()).unwrap();
    let vpc = &definition["States"]["RunTask"]["Arguments"]["NetworkConfiguration"]["AwsvpcConfiguration"];
    assert_eq!(vpc["SecurityGroups"], json!(["${SecurityGroupId}"]));
    assert_eq!(vpc["Subnets"], json!(["${Subnet1}", "${Subnet2}"]));
    assert_eq!(vpc["AssignPublicIp"], "ENABLED");
    assert_eq!(sub[1]["SecurityGroupId"], json!({"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}));
    assert_eq!(sub[1]["Subnet1"], json!({"Ref": "PublicSubnet1"}));
    assert_eq!(sub[1]["Subnet2"], json!({"Ref": "PublicSubnet2"}));
    assert_eq!(sub[1]["ClusterArn"], json!({"Fn::GetAtt": ["Cluster", "Arn"]}));
    assert_eq!(sub[1]["TaskDefinitionArn"], json!({"Ref": "TaskDefinition"}));
    assert_eq!(sub[1]["TopicArn"], json!({"Ref": "NotificationTopic"}));
}

#[test]
fn no_partition_is_hard_coded_in_the_definition() {
    let t = template_value();
    let text = t["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"][0].as_str().unwrap();
    assert!(!text.contains("arn:aws:"), "{text}");
    assert!(text.contains("arn:${AWS::Partition}:states:::ecs:runTask.waitForTaskToken"), "{text}");
    assert!(text.contains("arn:${AWS::Partition}:states:::sns:publish"), "{text}");
}

#[test]
fn the_task_definition_is_fargate_with_container_memory_and_logs() {
    let t = template_value();
    let props = &t["Resources"]["TaskDefinition"]["Properties"];
    assert_eq!(props["NetworkMode"], "awsvpc");
    assert_eq!(props["RequiresCompatibilities"], json!(["FARGATE"]));
    assert_eq!(props["Cpu"], description::CPU.to_string());
    assert_eq!(props["Memory"], description::MEMORY_MIB.to_string());
    assert_eq!(props["ExecutionRoleArn"], json!({"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}));
    assert_eq!(props["TaskRoleArn"], json!({"Fn::GetAtt": ["TaskRole", "Arn"]}));
    let container = &props["ContainerDefinitions"][0];
    assert_eq!(container["Memory"], description::MEMORY_MIB);
    assert_eq!(container["Image"], json!({"Ref": "ImageUri"}));
    assert_eq!(container["Environment"], json!([{"Name": "RUST_LOG", "Value": "info"}]));
    let logs = &container["LogConfiguration"];
    assert_eq!(logs["LogDriver"], "awslogs");
    assert_eq!(logs["Options"]["awslogs-group"], json!({"Ref": "TaskLogGroup"}));
    assert_eq!(logs["Options"]["awslogs-region"], json!({"Ref": "AWS::Region"}));
    let group = &t["Resources"]["TaskLogGroup"];
    assert_eq!(group["Properties"]["RetentionInDays"], description::LOG_RETENTION_DAYS);
    assert!(group["DeletionPolicy"].is_string() && group["UpdateReplacePolicy"].is_string(), "{group}");
    assert_eq!(t["Parameters"]["ImageUri"]["Default"], "example/image:1");
}

#[test]
fn the_execution_role_only_pulls_this_image_and_writes_these_logs() {
    let t = template_value();
    let role = &t["Resources"]["TaskExecutionRole"];
    assert!(role["Properties"].get("ManagedPolicyArns").is_none());
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );
    for statement in statements(role) {
        let actions: Vec<&str> = statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert!(actions.iter().all(|a| !a.contains('*')), "{statement}");
        if statement["Resource"] == "*" {
            assert_eq!(actions, ["ecr:GetAuthorizationToken"], "only the token may be on *: {statement}");
        } else if actions.iter().any(|a| a.starts_with("ecr:")) {
            assert_eq!(
                statement["Resource"],
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{}", service::SERVICE_NAME)})
            );
        } else {
            assert_eq!(statement["Resource"], json!({"Fn::GetAtt": ["TaskLogGroup", "Arn"]}));
        }
    }
}

/// The statements of a role, each as (its actions, the statement).
fn by_action(role: &Value) -> Vec<(BTreeSet<String>, Value)> {
    statements(role)
        .into_iter()
        .map(|s| (s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect(), s))
        .collect()
}

fn find(by_action: &[(BTreeSet<String>, Value)], action: &str) -> Value {
    by_action
        .iter()
        .find(|(actions, _)| actions.contains(action))
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("{action} missing"))
}

#[test]
fn the_task_role_may_only_report_to_its_own_workflow() {
    // The workflow waits for the task's token, so its task reports back, and may do nothing else.
    let t = template_value();
    let role = &t["Resources"]["TaskRole"];
    assert!(role["Properties"].get("ManagedPolicyArns").is_none());
    assert_ne!(t["Resources"]["TaskRole"], t["Resources"]["TaskExecutionRole"]);
    let policies = role["Properties"]["Policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0]["PolicyName"], "ReportToTheWorkflow");
    assert_eq!(
        statements(role),
        [json!({
            "Effect": "Allow",
            "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            "Resource": {"Fn::Sub": format!(
                "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{}-workflow",
                service::SERVICE_NAME
            )}
        })]
    );
    // The ARN it names is the state machine's own.
    assert_eq!(
        t["Resources"]["StateMachine"]["Properties"]["StateMachineName"],
        format!("{}-workflow", service::SERVICE_NAME)
    );
}

#[test]
fn the_state_machine_role_is_least_privilege() {
    // The callback: the state machine only runs the task (and passes its roles) and publishes.
    let t = template_value();
    let role = &t["Resources"]["StateMachineRole"];
    assert!(role["Properties"].get("ManagedPolicyArns").is_none());
    let by_action = by_action(role);
    let run = find(&by_action, "ecs:RunTask");
    assert_eq!(run["Resource"], json!({"Ref": "TaskDefinition"}));
    assert_eq!(run["Condition"]["ArnEquals"]["ecs:cluster"], json!({"Fn::GetAtt": ["Cluster", "Arn"]}));
    let pass = find(&by_action, "iam:PassRole");
    assert_eq!(
        pass["Resource"],
        json!([{"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}, {"Fn::GetAtt": ["TaskRole", "Arn"]}])
    );
    assert_eq!(find(&by_action, "sns:Publish")["Resource"], json!({"Ref": "NotificationTopic"}));
    assert_eq!(by_action.len(), 3);
    let all: usize = by_action.iter().map(|(a, _)| a.len()).sum();
    assert_eq!(all, 1 + 1 + 1, "no action beyond the listed ones");
    for (_, statement) in &by_action {
        assert_ne!(statement["Resource"], "*", "{statement}");
    }
}

/// The sample workflow with its task run `.sync`: the other pattern a fork may choose.
fn sync_workflow(resources: &WorkflowResources) -> StateMachine {
    let mut machine = description::workflow(resources);
    let model::states::State::Task(run) = machine.states.get_mut("RunTask").unwrap() else { panic!("RunTask") };
    run.resource = run.resource.replace(".waitForTaskToken", ".sync");
    run.heartbeat_seconds = None;
    let environment = &mut run.arguments.as_mut().unwrap()["Overrides"]["ContainerOverrides"][0]["Environment"];
    environment.as_array_mut().unwrap().truncate(1);
    machine
}

#[test]
fn a_sync_workflow_s_role_also_watches_and_stops_its_tasks_and_its_task_role_stays_empty() {
    let service = description::ServiceDescription::new(service::SERVICE_NAME, 256, 512, sync_workflow).unwrap();
    let (template, _) = decorators::assemble(service, Some("example/image:1".into())).unwrap();
    let t: Value = serde_json::from_str(&template.to_json().unwrap()).unwrap();
    let task_role = &t["Resources"]["TaskRole"];
    assert!(task_role["Properties"].get("Policies").is_none(), "{task_role}");
    let by_action = by_action(&t["Resources"]["StateMachineRole"]);
    let describe = find(&by_action, "ecs:DescribeTasks");
    assert!(find(&by_action, "ecs:StopTask") == describe);
    assert_eq!(
        describe["Resource"],
        json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task/{}/*", service::SERVICE_NAME)})
    );
    let events = find(&by_action, "events:PutTargets");
    assert_eq!(events["Action"], json!(["events:PutTargets", "events:PutRule", "events:DescribeRule"]));
    assert_eq!(
        events["Resource"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule"})
    );
    assert_eq!(by_action.len(), 5);
    let all: usize = by_action.iter().map(|(a, _)| a.len()).sum();
    assert_eq!(all, 1 + 1 + 2 + 3 + 1, "no action beyond the listed ones");
}

#[test]
fn every_output_is_exported_under_the_stack_name() {
    let t = template_value();
    let outputs = t["Outputs"].as_object().unwrap();
    for name in [
        "ClusterArn",
        "TaskDefinitionArn",
        "StateMachineArn",
        "TopicArn",
        "LogGroupName",
        "Subnet1Id",
        "Subnet2Id",
        "SecurityGroupId",
        "VpcId",
        "TaskRoleArn",
        "ContainerName",
    ] {
        let output = outputs.get(name).unwrap_or_else(|| panic!("output {name} missing"));
        assert_eq!(output["Export"]["Name"], json!({"Fn::Sub": format!("${{AWS::StackName}}-{name}")}));
    }
}

#[test]
fn every_name_derives_from_the_service_name() {
    let mut a = args();
    a.service.service_name = Some("billing-report".into());
    let t: Value = serde_json::from_str(&render(&a).unwrap().text).unwrap();
    let text = t.to_string();
    assert!(!text.contains(service::SERVICE_NAME), "{text}");
    let r = &t["Resources"];
    assert_eq!(r["Cluster"]["Properties"]["ClusterName"], "billing-report");
    assert_eq!(r["TaskDefinition"]["Properties"]["Family"], "billing-report");
    assert_eq!(r["TaskLogGroup"]["Properties"]["LogGroupName"], "/ecs/billing-report");
    assert_eq!(r["NotificationTopic"]["Properties"]["TopicName"], "billing-report-notifications");
    assert_eq!(r["StateMachine"]["Properties"]["StateMachineName"], "billing-report-workflow");
}

#[test]
fn an_invalid_task_size_is_an_error_naming_the_pair_and_choices() {
    let mut a = args();
    a.service.cpu = Some(1024);
    a.service.memory = Some(512);
    let err = format!("{:#}", render(&a).err().unwrap());
    assert!(err.contains("cpu 1024 with memory 512"), "{err}");
    assert!(err.contains("2048, 3072, 4096, 5120, 6144, 7168, 8192"), "{err}");
    a.service.cpu = Some(100);
    let err = format!("{:#}", render(&a).err().unwrap());
    assert!(err.contains("cpu 100 is not a Fargate task size"), "{err}");
    a.service.cpu = Some(16384);
    a.service.memory = Some(122880);
    render(&a).unwrap();
}

#[test]
fn an_invalid_service_name_is_an_error_naming_it() {
    for bad in ["Service", "my_service", "9lives", "x", "a--b", "has space"] {
        let mut a = args();
        a.service.service_name = Some(bad.into());
        let err = format!("{:#}", render(&a).err().unwrap());
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
}

struct Duplicate;
impl Decorator for Duplicate {
    fn name(&self) -> &str {
        "duplicate"
    }
    fn decorate(&self, _: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        template.add_resource(&LogicalId::new(cluster::CLUSTER)?, Resource::new("AWS::ECS::Cluster"))?;
        Ok(())
    }
}

#[test]
fn a_decorator_adding_a_duplicate_logical_id_fails_naming_both() {
    let chain = DecoratorChain::new().with(cluster::ClusterDecorator).with(Duplicate);
    let mut ctx = DecoratorContext::new(description::describe().unwrap());
    let err = chain.run(&mut ctx, &mut Template::new()).unwrap_err().to_string();
    assert!(err.contains("\"duplicate\"") && err.contains("duplicate logical ID \"Cluster\""), "{err}");
}

#[test]
fn a_merged_fragment_with_a_duplicate_logical_id_fails_naming_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("duplicate-fragment.json");
    std::fs::write(&path, r#"{"Resources": {"TaskRole": {"Type": "AWS::IAM::Role"}}}"#).unwrap();
    let mut a = args();
    a.service.merge = vec![path];
    let err = format!("{:#}", render(&a).err().unwrap());
    assert!(err.contains("duplicate logical ID \"TaskRole\""), "{err}");
}

#[test]
fn a_merged_fragment_adds_its_resources() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("extra-fragment.yaml");
    std::fs::write(
        &path,
        "Resources:\n  ReportBucket:\n    Type: AWS::S3::Bucket\nOutputs:\n  ReportBucketName:\n    Value:\n      Ref: ReportBucket\n",
    )
    .unwrap();
    let mut a = args();
    a.service.merge = vec![path];
    a.format = Format::Yaml;
    let text = render(&a).unwrap().text;
    let t = Template::from_yaml(&text).unwrap();
    assert!(t.resource(&LogicalId::new("ReportBucket").unwrap()).is_some());
}

#[test]
fn a_chain_missing_a_step_names_the_decorator_it_needs() {
    let chain = DecoratorChain::new()
        .with(image::ImageDecorator { image_uri: None })
        .with(state_machine::StateMachineDecorator);
    let mut ctx = DecoratorContext::new(description::describe().unwrap());
    let err = chain.run(&mut ctx, &mut Template::new()).unwrap_err().to_string();
    assert!(err.contains("\"state-machine\"") && err.contains("\"network\" decorator"), "{err}");
}

fn stray_placeholder(_: &WorkflowResources) -> StateMachine {
    StateMachine::new("Done")
        .with_state("Done", Succeed { comment: Some("costs ${Price}".into()), ..Succeed::default() })
}

#[test]
fn a_placeholder_nothing_provides_is_refused() {
    let service = description::describe().unwrap().with_workflow(stray_placeholder);
    let err = decorators::assemble(service, None).unwrap_err().to_string();
    assert!(err.contains("${Price}") && err.contains("${!Price}"), "{err}");
}

fn invalid_workflow(_: &WorkflowResources) -> StateMachine {
    StateMachine::new("Missing").with_state("Done", Succeed::default())
}

#[test]
fn an_invalid_workflow_is_refused_before_the_template_is_written() {
    let service = description::describe().unwrap().with_workflow(invalid_workflow);
    let err = decorators::assemble(service, None).unwrap_err().to_string();
    assert!(err.contains("\"state-machine\"") && err.contains("Missing"), "{err}");
}

#[test]
fn the_standard_chain_runs_in_the_documented_order() {
    assert_eq!(
        DecoratorChain::standard(None).names(),
        ["image", "ecr", "network", "cluster", "logs", "task-definition", "topic", "state-machine", "outputs"]
    );
}

#[test]
fn without_an_image_the_placeholder_is_marked() {
    let rendered = render(&args()).unwrap();
    let uri = rendered.placeholder_image.unwrap();
    assert!(uri.starts_with("placeholder.invalid/"), "{uri}");
    let t: Value = serde_json::from_str(&rendered.text).unwrap();
    assert_eq!(t["Parameters"]["ImageUri"]["Default"], uri);
    assert!(t["Parameters"]["ImageUri"]["Description"].as_str().unwrap().contains("PLACEHOLDER"));
}

/// The wildcards the template's policies may grant, each with the reason the AWS service leaves no
/// narrower choice: (logical ID, actions, resource as written, why). Anything else with a `*` in
/// its resource or action fails `every_wildcard_in_a_policy_is_one_the_service_requires`.
/// `{service}` stands for the service's name (a fork has its own).
const ALLOWED_WILDCARDS: &[(&str, &[&str], &str, &str)] = &[
    (
        "TaskExecutionRole",
        &["ecr:GetAuthorizationToken"],
        "*",
        "IAM defines no resource type for GetAuthorizationToken: it acts on the account's registry",
    ),
    (
        "TaskLogKey",
        &["kms:*"],
        "*",
        "a key policy's Resource is always * (this key); the account-root statement is AWS's default, \
         without which the key could never be changed or deleted",
    ),
    (
        "TaskLogKey",
        &["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "*",
        "a key policy's Resource is always * (this key); these are the actions CloudWatch Logs documents \
         for a log group's key, and the condition names the one log group",
    ),
];

/// A policy's Resource entries as text: a string as is, an `Fn::Sub` as its template; a `Ref` or
/// `Fn::GetAtt` names one resource and has no wildcard.
fn resource_texts(resource: &Value) -> Vec<String> {
    match resource {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(resource_texts).collect(),
        Value::Object(map) => match map.get("Fn::Sub") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(parts)) => parts.first().and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Every policy statement anywhere in a resource's properties (role policies, key policies,
/// topic or bucket policies, trust policies), found by their `Statement` lists.
fn policy_statements(properties: &Value, out: &mut Vec<Value>) {
    match properties {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("Statement", Value::Array(statements)) => out.extend(statements.iter().cloned()),
                    ("Statement", statement @ Value::Object(_)) => out.push(statement.clone()),
                    _ => policy_statements(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| policy_statements(i, out)),
        _ => {}
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_wildcard_in_a_policy_is_one_the_service_requires() {
    let t = template_value();
    let mut found = BTreeSet::new();
    for (id, resource) in t["Resources"].as_object().unwrap() {
        let mut statements = Vec::new();
        policy_statements(&resource["Properties"], &mut statements);
        for statement in statements {
            assert!(
                statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
                "{id}: NotAction/NotResource grant everything else: {statement}"
            );
            if statement["Effect"] != "Allow" {
                continue;
            }
            if let Some(principal) = statement.get("Principal") {
                assert_ne!(principal, &json!("*"), "{id}: a policy open to anyone: {statement}");
                assert_ne!(principal, &json!({"AWS": "*"}), "{id}: a policy open to anyone: {statement}");
            }
            let actions = strings(&statement["Action"]);
            for resource_text in resource_texts(&statement["Resource"]) {
                if resource_text.contains('*') || actions.iter().any(|a| a.contains('*')) {
                    if resource_text == "*" && resource["Type"] == "AWS::IAM::Role" {
                        let sid = statement["Sid"].as_str().unwrap_or_default();
                        assert!(!sid.is_empty(), "{id}: a grant on * says why in its Sid: {statement}");
                    }
                    found.insert((id.clone(), actions.clone(), resource_text));
                }
            }
        }
    }
    let allowed: BTreeSet<(String, Vec<String>, String)> = ALLOWED_WILDCARDS
        .iter()
        .map(|(id, actions, resource, why)| {
            assert!(!why.is_empty());
            let resource = resource.replace("{service}", service::SERVICE_NAME);
            (id.to_string(), actions.iter().map(|a| a.to_string()).collect(), resource)
        })
        .collect();
    let unexpected: Vec<_> = found.difference(&allowed).collect();
    assert!(
        unexpected.is_empty(),
        "wildcards no AWS service requires (narrow them, or list them with the reason): {unexpected:#?}"
    );
    let gone: Vec<_> = allowed.difference(&found).collect();
    assert!(gone.is_empty(), "allowed wildcards the template no longer has (remove them from the list): {gone:#?}");
}

#[test]
fn a_wildcard_on_any_other_action_would_be_caught() {
    // The walker itself: a statement it did not expect is found, wherever the policy sits.
    let mut statements = Vec::new();
    let properties = json!({"Policies": [{"PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}}
    ]}}], "KeyPolicy": {"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}});
    policy_statements(&properties, &mut statements);
    let mut texts: Vec<String> = statements.iter().flat_map(|s| resource_texts(&s["Resource"])).collect();
    texts.sort();
    assert_eq!(texts, ["*", "arn:${AWS::Partition}:s3:::b/*"]);
}

#[test]
fn the_log_group_is_encrypted_with_a_rotated_key_only_its_log_group_may_use() {
    let t = template_value();
    let group = &t["Resources"]["TaskLogGroup"]["Properties"];
    assert_eq!(group["KmsKeyId"], json!({"Fn::GetAtt": ["TaskLogKey", "Arn"]}));
    let key = &t["Resources"]["TaskLogKey"];
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(key["Properties"]["PendingWindowInDays"], 7);
    let statements = key["Properties"]["KeyPolicy"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0]["Principal"]["AWS"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"})
    );
    assert_eq!(statements[1]["Principal"]["Service"], json!({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}));
    assert_eq!(
        statements[1]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"],
        json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/ecs/{}",
            service::SERVICE_NAME
        )})
    );
}

#[test]
fn the_topic_is_encrypted_and_the_cluster_reports_container_insights() {
    let t = template_value();
    assert_eq!(t["Resources"]["NotificationTopic"]["Properties"]["KmsMasterKeyId"], "alias/aws/sns");
    assert_eq!(
        t["Resources"]["Cluster"]["Properties"]["ClusterSettings"],
        json!([{"Name": "containerInsights", "Value": "enabled"}])
    );
}

#[test]
fn the_container_runs_as_the_image_s_non_root_user_with_every_capability_dropped() {
    let t = template_value();
    let container = &t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(container["User"], provisioner::image::inputs::USER);
    assert!(!container["User"].as_str().unwrap().starts_with("0"), "not root");
    assert_eq!(container["LinuxParameters"], json!({"Capabilities": {"Drop": ["ALL"]}}), "nothing added, all dropped");
    assert!(container.get("Privileged").is_none() || container["Privileged"] == false);
}
