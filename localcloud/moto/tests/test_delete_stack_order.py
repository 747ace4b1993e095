"""delete-stack-order: DeleteStack of this project's stack deletes everything, in reverse
dependency order, and the stack ends DELETE_COMPLETE."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import SERVICE, STACK, Cloud, create_stack, events, resource_events, stack_status, still_a_gap, task_definition


def inventory(cloud: Cloud) -> dict[str, set[str]]:
    """What exists in the services this project's stack uses, by id."""
    ec2, ecs, iam = cloud.client("ec2"), cloud.client("ecs"), cloud.client("iam")
    clusters = ecs.describe_clusters(clusters=[SERVICE])["clusters"]
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]},
        "internet gateways": {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]},
        "route tables": {r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"]},
        "security groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
        "active clusters": {c["clusterArn"] for c in clusters if c["status"] == "ACTIVE"},
        "active task definitions": set(ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]),
        "roles": {r["RoleName"] for r in iam.list_roles()["Roles"]},
        "log groups": {g["logGroupName"] for g in cloud.client("logs").describe_log_groups()["logGroups"]},
        "topics": {t["TopicArn"] for t in cloud.client("sns").list_topics()["Topics"]},
        "state machines": {
            m["stateMachineArn"] for m in cloud.client("stepfunctions").list_state_machines()["stateMachines"]
        },
    }


def test_vanilla_moto_still_fails_to_delete_this_stack(vanilla: Cloud, template_text: str) -> None:
    before = inventory(vanilla)
    create_stack(vanilla, template_text)
    try:
        vanilla.client("cloudformation").delete_stack(StackName=STACK)
        failed = False
    except ClientError:
        failed = True
    leaked = {kind: ids - before[kind] for kind, ids in inventory(vanilla).items() if ids - before[kind]}
    still_a_gap(
        failed or bool(leaked),
        "delete-stack-order",
        "deletes this project's stack without error and without leaking resources",
    )


def test_delete_stack_deletes_everything_in_reverse_dependency_order(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    before = inventory(corrected)
    stack_id = create_stack(corrected, template_text)
    revision = task_definition(corrected)["taskDefinitionArn"]
    created = len(events(corrected))

    corrected.client("cloudformation").delete_stack(StackName=STACK)

    assert stack_status(corrected, stack_id) == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="does not exist"):
        stack_status(corrected, STACK)
    leaked = {kind: ids - before[kind] for kind, ids in inventory(corrected).items() if ids - before[kind]}
    assert leaked == {}
    assert task_definition(corrected, revision)["status"] == "INACTIVE"
    assert corrected.client("ecs").describe_clusters(clusters=[SERVICE])["clusters"][0]["status"] == "INACTIVE"

    deletion = resource_events(corrected, stack_id)[created - 1 :]
    completed = [e["LogicalResourceId"] for e in deletion if e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert sorted(completed) == sorted(template["Resources"])
    assert not [e for e in deletion if e["ResourceStatus"] == "DELETE_FAILED"]
    position = {name: index for index, name in enumerate(completed)}
    # Each resource goes after everything that refers to it.
    for dependent, dependency in [
        ("StateMachine", "TaskDefinition"),
        ("StateMachine", "StateMachineRole"),
        ("TaskDefinition", "TaskExecutionRole"),
        ("TaskExecutionRole", "TaskLogGroup"),
        ("PublicSubnet1RouteTableAssociation", "PublicSubnet1"),
        ("PublicDefaultRoute", "InternetGatewayAttachment"),
        ("InternetGatewayAttachment", "InternetGateway"),
        ("PublicSubnet1", "Vpc"),
        ("PublicRouteTable", "Vpc"),
        ("TaskSecurityGroup", "Vpc"),
    ]:
        assert position[dependent] < position[dependency], (dependent, dependency, completed)
    assert [e["ResourceStatus"] for e in events(corrected, stack_id)][-1] == "DELETE_COMPLETE"
    assert corrected.client("cloudformation").list_exports()["Exports"] == []


def test_a_deleted_stack_can_be_created_again(corrected: Cloud, template_text: str) -> None:
    create_stack(corrected, template_text)
    corrected.client("cloudformation").delete_stack(StackName=STACK)
    create_stack(corrected, template_text)
    assert stack_status(corrected) == "CREATE_COMPLETE"
    assert task_definition(corrected)["revision"] == 2
