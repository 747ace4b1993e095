"""task-definition-update: UpdateStack with a new image registers a complete revision 2 and moves
everything that refers to the task definition to it; a parameter seen through Fn::Sub is seen."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import (
    CPU,
    IMAGE_1,
    IMAGE_2,
    MEMORY,
    SERVICE,
    STACK,
    Cloud,
    create_stack,
    image_parameter,
    outputs,
    physical_id,
    resource_events,
    stack_status,
    state_machine_task_definition,
    still_a_gap,
    task_definition,
)

# A parameter that reaches a resource only through Fn::Sub, and one that reaches an inline role
# policy through Ref: small stacks that show each gap on its own.
SUB_TEMPLATE = {
    "Parameters": {"Suffix": {"Type": "String"}},
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": "sub-gap", "DisplayName": {"Fn::Sub": "display-${Suffix}"}},
        }
    },
}
ROLE_TEMPLATE = {
    "Parameters": {"QueueArn": {"Type": "String"}},
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "Send",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Ref": "QueueArn"}}
                            ],
                        },
                    }
                ],
            },
        }
    },
}
QUEUE_1 = "arn:aws:sqs:us-east-1:123456789012:one"
QUEUE_2 = "arn:aws:sqs:us-east-1:123456789012:two"


def update_image(cloud: Cloud, template_text: str, image: str) -> None:
    cloud.client("cloudformation").update_stack(
        StackName=STACK, TemplateBody=template_text, Parameters=image_parameter(image)
    )


def display_name(cloud: Cloud) -> str:
    sns = cloud.client("sns")
    (topic,) = sns.list_topics()["Topics"]
    return sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]["DisplayName"]


def role_policy_resource(cloud: Cloud, role_name: str, policy: str, statement: int = 0) -> Any:
    document = cloud.client("iam").get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return document["Statement"][statement]["Resource"]


def test_vanilla_moto_still_breaks_the_task_definition_on_update(vanilla: Cloud, template_text: str) -> None:
    create_stack(vanilla, template_text, IMAGE_1)
    update_image(vanilla, template_text, IMAGE_2)
    revision_2 = task_definition(vanilla, f"{SERVICE}:2")
    (container,) = revision_2["containerDefinitions"]
    broken = container.get("image") != IMAGE_2 or container.get("name") != SERVICE
    stale = state_machine_task_definition(vanilla) != revision_2["taskDefinitionArn"]
    still_a_gap(
        broken or stale, "task-definition-update", "registers a complete revision 2 and points the state machine at it"
    )


def test_vanilla_moto_still_misses_a_parameter_seen_through_fn_sub(vanilla: Cloud) -> None:
    cf = vanilla.client("cloudformation")
    cf.create_stack(
        StackName="sub",
        TemplateBody=json.dumps(SUB_TEMPLATE),
        Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "one"}],
    )
    cf.update_stack(
        StackName="sub",
        TemplateBody=json.dumps(SUB_TEMPLATE),
        Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "two"}],
    )
    still_a_gap(
        display_name(vanilla) == "display-one",
        "task-definition-update",
        "updates a resource whose Fn::Sub names a changed parameter",
    )


def test_vanilla_moto_still_ignores_a_changed_inline_role_policy(vanilla: Cloud) -> None:
    cf = vanilla.client("cloudformation")
    body = json.dumps(ROLE_TEMPLATE)
    cf.create_stack(
        StackName="role", TemplateBody=body, Parameters=[{"ParameterKey": "QueueArn", "ParameterValue": QUEUE_1}]
    )
    cf.update_stack(
        StackName="role", TemplateBody=body, Parameters=[{"ParameterKey": "QueueArn", "ParameterValue": QUEUE_2}]
    )
    role = cf.describe_stack_resource(StackName="role", LogicalResourceId="Role")["StackResourceDetail"][
        "PhysicalResourceId"
    ]
    document = vanilla.client("iam").get_role_policy(RoleName=role, PolicyName="Send")["PolicyDocument"]
    still_a_gap(
        QUEUE_2 not in str(document),
        "task-definition-update",
        "applies a changed inline policy of an AWS::IAM::Role on update",
    )


def test_a_new_image_registers_a_complete_revision_and_everything_follows_it(
    corrected: Cloud, template_text: str
) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    revision_1 = task_definition(corrected)["taskDefinitionArn"]
    state_machine_role = physical_id(corrected, "StateMachineRole")
    assert role_policy_resource(corrected, state_machine_role, "RunTaskAndNotify") == revision_1

    update_image(corrected, template_text, IMAGE_2)

    assert stack_status(corrected) == "UPDATE_COMPLETE"
    current = task_definition(corrected)
    assert current["revision"] == 2
    (container,) = current["containerDefinitions"]
    assert container["name"] == SERVICE
    assert container["image"] == IMAGE_2
    assert container["memory"] == int(MEMORY)
    assert container["environment"] == [{"name": "RUST_LOG", "value": "info"}]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert container["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{SERVICE}"
    assert (current["cpu"], current["memory"], current["networkMode"]) == (CPU, MEMORY, "awsvpc")
    assert current["requiresCompatibilities"] == ["FARGATE"] and current["executionRoleArn"]

    # Everything that refers to the task definition now names revision 2, and revision 1 is gone.
    arn = current["taskDefinitionArn"]
    assert state_machine_task_definition(corrected) == arn
    assert role_policy_resource(corrected, state_machine_role, "RunTaskAndNotify") == arn
    assert outputs(corrected)["TaskDefinitionArn"] == arn
    assert task_definition(corrected, revision_1)["status"] == "INACTIVE"

    # Only the task definition and what refers to it were touched.
    updated = {e["LogicalResourceId"] for e in resource_events(corrected) if e["ResourceStatus"].startswith("UPDATE_")}
    assert updated == {"TaskDefinition", "StateMachineRole", "StateMachine"}


def test_the_same_template_and_parameters_change_nothing(corrected: Cloud, template_text: str) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    # UpdateStack with the same text is refused, as on AWS.
    with pytest.raises(ClientError, match="No updates are to be performed"):
        update_image(corrected, template_text, IMAGE_1)
    # Reformatted, it runs and changes nothing.
    update_image(corrected, json.dumps(json.loads(template_text), indent=1), IMAGE_1)
    assert stack_status(corrected) == "UPDATE_COMPLETE"
    assert task_definition(corrected)["revision"] == 1
    assert not [e for e in resource_events(corrected) if e["ResourceStatus"].startswith("UPDATE_")]


def test_a_parameter_seen_through_fn_sub_is_seen_on_update(corrected: Cloud) -> None:
    cf = corrected.client("cloudformation")
    cf.create_stack(
        StackName="sub",
        TemplateBody=json.dumps(SUB_TEMPLATE),
        Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "one"}],
    )
    cf.update_stack(
        StackName="sub",
        TemplateBody=json.dumps(SUB_TEMPLATE),
        Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "two"}],
    )
    assert stack_status(corrected, "sub") == "UPDATE_COMPLETE"
    assert display_name(corrected) == "display-two"


def test_a_changed_inline_role_policy_reaches_iam(corrected: Cloud) -> None:
    cf = corrected.client("cloudformation")
    body = json.dumps(ROLE_TEMPLATE)
    cf.create_stack(
        StackName="role", TemplateBody=body, Parameters=[{"ParameterKey": "QueueArn", "ParameterValue": QUEUE_1}]
    )
    cf.update_stack(
        StackName="role", TemplateBody=body, Parameters=[{"ParameterKey": "QueueArn", "ParameterValue": QUEUE_2}]
    )
    role = cf.describe_stack_resource(StackName="role", LogicalResourceId="Role")["StackResourceDetail"][
        "PhysicalResourceId"
    ]
    assert role_policy_resource(corrected, role, "Send") == QUEUE_2
