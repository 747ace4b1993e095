"""unsupported-resource-type: a resource that cannot be created fails the stack with its reason
and rolls it back, on create and on update."""

from __future__ import annotations

import json
from typing import Any

from support import (
    IMAGE_1,
    IMAGE_2,
    MOTO_VERSION,
    SERVICE,
    STACK,
    Cloud,
    create_stack,
    events,
    image_parameter,
    outputs,
    physical_id,
    resource_events,
    stack_status,
    state_machine_task_definition,
    still_a_gap,
    task_definition,
)

# A real CloudFormation type (a schedule that starts the state machine) moto 5.2.5 does not know.
SCHEDULE = {
    "Type": "AWS::Scheduler::Schedule",
    "Properties": {
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ScheduleExpression": "rate(1 day)",
        "Target": {"Arn": {"Ref": "StateMachine"}, "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}},
    },
}
SMALL = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "small"}}, "Schedule": SCHEDULE}
}


def with_schedule(template: dict[str, Any]) -> str:
    template["Resources"]["Schedule"] = SCHEDULE
    return json.dumps(template)


def without_memory(template: dict[str, Any]) -> str:
    """The task definition with no memory at all, which RegisterTaskDefinition refuses."""
    properties = template["Resources"]["TaskDefinition"]["Properties"]
    del properties["Memory"]
    del properties["ContainerDefinitions"][0]["Memory"]
    return json.dumps(template)


def test_vanilla_moto_still_skips_an_unsupported_resource_type(vanilla: Cloud) -> None:
    vanilla.client("cloudformation").create_stack(StackName="small", TemplateBody=json.dumps(SMALL))
    skipped = stack_status(vanilla, "small") == "CREATE_COMPLETE"
    still_a_gap(skipped, "unsupported-resource-type", "fails a stack with a resource type it does not support")


def test_vanilla_moto_still_answers_a_failed_resource_with_an_error_instead_of_a_rollback(
    vanilla: Cloud, template: dict[str, Any]
) -> None:
    cf = vanilla.client("cloudformation")
    try:
        cf.create_stack(StackName=STACK, TemplateBody=without_memory(template), Parameters=image_parameter(IMAGE_1))
        answered_error = False
    except Exception:
        answered_error = True
    rolled_back = not answered_error and stack_status(vanilla) == "ROLLBACK_COMPLETE"
    still_a_gap(not rolled_back, "unsupported-resource-type", "rolls a stack back when a resource fails to create")


def assert_rolled_back_create(cloud: Cloud, template: dict[str, Any], failed: str, reason_has: list[str]) -> None:
    assert stack_status(cloud) == "ROLLBACK_COMPLETE"
    history = resource_events(cloud)
    (failure,) = [e for e in history if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failure["LogicalResourceId"] == failed
    assert failure["ResourceType"] == template["Resources"][failed]["Type"]
    for text in reason_has:
        assert text in failure["ResourceStatusReason"], failure
    created = {e["LogicalResourceId"] for e in history if e["ResourceStatus"] == "CREATE_COMPLETE"}
    deleted = {e["LogicalResourceId"] for e in history if e["ResourceStatus"] == "DELETE_COMPLETE"}
    assert created and deleted == created
    stack_events = [
        (e["ResourceStatus"], e.get("ResourceStatusReason"))
        for e in events(cloud)
        if e["ResourceType"] == "AWS::CloudFormation::Stack"
    ]
    assert (
        "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{failed}]. Rollback requested by user.",
    ) in stack_events
    assert stack_events[-1][0] == "ROLLBACK_COMPLETE"
    # DescribeStacks says why, for a deploy tool that reports the cause.
    described = cloud.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert described["StackStatusReason"].startswith(f"The following resource(s) failed to create: [{failed}]")
    assert outputs(cloud) == {}
    assert (
        cloud.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{SERVICE}-vpc"]}])["Vpcs"] == []
    )
    assert cloud.client("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []
    assert cloud.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_an_unsupported_resource_type_fails_the_create_and_rolls_it_back(
    corrected: Cloud, template: dict[str, Any]
) -> None:
    corrected.client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=with_schedule(template), Parameters=image_parameter(IMAGE_1)
    )
    assert_rolled_back_create(
        corrected,
        template,
        "Schedule",
        ["AWS::Scheduler::Schedule", "not supported by the local cloud", f"moto {MOTO_VERSION}"],
    )


def test_a_resource_moto_refuses_fails_the_create_with_moto_s_reason(
    corrected: Cloud, template: dict[str, Any]
) -> None:
    body = without_memory(template)
    # CreateStack itself succeeds, as on AWS: the failure is the stack's, not the request's.
    corrected.client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=body, Parameters=image_parameter(IMAGE_1)
    )
    assert_rolled_back_create(corrected, json.loads(body), "TaskDefinition", ["memory"])


def test_an_unsupported_resource_type_fails_the_update_and_rolls_it_back(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    revision_1 = task_definition(corrected)["taskDefinitionArn"]
    before = len(events(corrected))
    # A new image (a task definition replacement) and the unsupported schedule in one update.
    corrected.client("cloudformation").update_stack(
        StackName=STACK, TemplateBody=with_schedule(template), Parameters=image_parameter(IMAGE_2)
    )

    assert stack_status(corrected) == "UPDATE_ROLLBACK_COMPLETE"
    update = events(corrected)[before:]
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in update]
    assert ("Schedule", "CREATE_FAILED") in statuses
    assert ("TaskDefinition", "UPDATE_COMPLETE") in statuses
    assert [s for _, s in statuses if s.startswith("UPDATE_ROLLBACK")][-1] == "UPDATE_ROLLBACK_COMPLETE"
    # Everything is back on the first revision; the one the failed update made is deregistered.
    assert physical_id(corrected, "TaskDefinition") == revision_1
    assert task_definition(corrected, revision_1)["status"] == "ACTIVE"
    assert task_definition(corrected, f"{SERVICE}:2")["status"] == "INACTIVE"
    assert state_machine_task_definition(corrected) == revision_1
    assert outputs(corrected)["TaskDefinitionArn"] == revision_1
    # The stack takes the next update.
    corrected.client("cloudformation").update_stack(
        StackName=STACK, TemplateBody=template_text, Parameters=image_parameter(IMAGE_2)
    )
    assert stack_status(corrected) == "UPDATE_COMPLETE"
    assert state_machine_task_definition(corrected) == physical_id(corrected, "TaskDefinition") != revision_1
