"""change-set-diff: a change set lists the real difference against the deployed stack, with
CloudFormation's Replacement, and ends FAILED when there is none."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import (
    IMAGE_1,
    IMAGE_2,
    STACK,
    Cloud,
    create_stack,
    image_parameter,
    outputs,
    physical_id,
    stack_status,
    state_machine_task_definition,
    still_a_gap,
    task_definition,
)

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


def change_set(cloud: Cloud, body: str, image: str, name: str, kind: str = "UPDATE") -> dict[str, Any]:
    cf = cloud.client("cloudformation")
    created = cf.create_change_set(
        StackName=STACK, ChangeSetName=name, ChangeSetType=kind, TemplateBody=body, Parameters=image_parameter(image)
    )
    return cf.describe_change_set(ChangeSetName=created["Id"])


def changes(described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}


def test_vanilla_moto_still_lists_no_real_change_set_diff(vanilla: Cloud, template_text: str) -> None:
    create_stack(vanilla, template_text, IMAGE_1)
    listed = changes(change_set(vanilla, template_text, IMAGE_2, "new-image"))
    task_definition_change = listed.get("TaskDefinition", {})
    real = task_definition_change.get("Action") == "Modify" and task_definition_change.get("Replacement") == "True"
    still_a_gap(not real, "change-set-diff", "lists a new image as Modify TaskDefinition with Replacement True")


def test_vanilla_moto_still_refuses_a_change_set_without_changes(vanilla: Cloud, template_text: str) -> None:
    create_stack(vanilla, template_text, IMAGE_1)
    try:
        change_set(vanilla, template_text, IMAGE_1, "same")
        refused = False
    except ClientError as error:
        refused = "No updates are to be performed" in str(error)
    still_a_gap(refused, "change-set-diff", "creates a FAILED change set when nothing changed")


@pytest.mark.parametrize("reformat", [False, True], ids=["same-text", "reformatted"])
def test_a_change_set_without_changes_fails_as_on_aws(corrected: Cloud, template_text: str, reformat: bool) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    body = json.dumps(json.loads(template_text), indent=1) if reformat else template_text
    described = change_set(corrected, body, IMAGE_1, "same")
    assert described["Status"] == "FAILED"
    assert described["StatusReason"] == NO_CHANGES
    assert described["ExecutionStatus"] == "UNAVAILABLE"
    assert described["Changes"] == []
    with pytest.raises(ClientError) as refused:
        corrected.client("cloudformation").execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert stack_status(corrected) == "CREATE_COMPLETE"


def test_a_new_image_is_a_task_definition_replacement_that_its_dependents_follow(
    corrected: Cloud, template_text: str
) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    revision_1 = task_definition(corrected)["taskDefinitionArn"]
    described = change_set(corrected, template_text, IMAGE_2, "new-image")
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    listed = changes(described)
    assert set(listed) == {"TaskDefinition", "StateMachineRole", "StateMachine"}
    assert all(c["Action"] == "Modify" and c["Scope"] == ["Properties"] for c in listed.values())

    task = listed["TaskDefinition"]
    assert task["Replacement"] == "True"
    assert task["PhysicalResourceId"] == revision_1
    assert task["Details"] == [
        {
            "Target": {"Attribute": "Properties", "Name": "ContainerDefinitions", "RequiresRecreation": "Always"},
            "Evaluation": "Static",
            "ChangeSource": "ParameterReference",
            "CausingEntity": "ImageUri",
        }
    ]
    machine = listed["StateMachine"]
    assert machine["Replacement"] == "False"
    assert {
        "Target": {"Attribute": "Properties", "Name": "DefinitionString", "RequiresRecreation": "Never"},
        "Evaluation": "Dynamic",
        "ChangeSource": "ResourceReference",
        "CausingEntity": "TaskDefinition",
    } in machine["Details"]
    assert listed["StateMachineRole"]["Replacement"] == "False"

    corrected.client("cloudformation").execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert stack_status(corrected) == "UPDATE_COMPLETE"
    executed = corrected.client("cloudformation").describe_change_set(ChangeSetName=described["ChangeSetId"])
    assert executed["ExecutionStatus"] == "EXECUTE_COMPLETE"
    current = task_definition(corrected)
    assert current["revision"] == 2 and current["containerDefinitions"][0]["image"] == IMAGE_2
    assert state_machine_task_definition(corrected) == current["taskDefinitionArn"]


def test_a_replaced_vpc_makes_what_sits_in_it_a_conditional_replacement(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    template["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.1.0.0/16"
    listed = changes(change_set(corrected, json.dumps(template), IMAGE_1, "new-cidr"))
    replacement = {name: change["Replacement"] for name, change in listed.items()}
    assert replacement["Vpc"] == "True"
    # VpcId requires replacement, and the new VPC's id is only known once it exists.
    for name in ("PublicSubnet1", "PublicSubnet2", "PublicRouteTable", "TaskSecurityGroup"):
        assert replacement[name] == "Conditional", (name, listed[name])
    # An attachment moves to the new VPC without replacement.
    assert replacement["InternetGatewayAttachment"] == "False"
    assert "Cluster" not in listed and "NotificationTopic" not in listed


def test_added_and_removed_resources_are_listed_and_applied(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    with_extra = copy.deepcopy(template)
    with_extra["Resources"]["AuditTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": "servicefull-audit"},
    }
    cf = corrected.client("cloudformation")
    sns = corrected.client("sns")

    added = change_set(corrected, json.dumps(with_extra), IMAGE_1, "add-topic")
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in added["Changes"]] == [
        ("Add", "AuditTopic")
    ]
    cf.execute_change_set(ChangeSetName=added["ChangeSetId"])
    assert stack_status(corrected) == "UPDATE_COMPLETE"
    audit = physical_id(corrected, "AuditTopic")
    assert audit in [t["TopicArn"] for t in sns.list_topics()["Topics"]]

    removed = change_set(corrected, template_text, IMAGE_1, "remove-topic")
    (change,) = [c["ResourceChange"] for c in removed["Changes"]]
    assert (change["Action"], change["LogicalResourceId"], change["PhysicalResourceId"]) == (
        "Remove",
        "AuditTopic",
        audit,
    )
    cf.execute_change_set(ChangeSetName=removed["ChangeSetId"])
    assert stack_status(corrected) == "UPDATE_COMPLETE"
    assert audit not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_a_create_change_set_lists_every_resource_and_creates_the_stack(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    described = change_set(corrected, template_text, IMAGE_1, "create", kind="CREATE")
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert stack_status(corrected) == "REVIEW_IN_PROGRESS"
    listed = changes(described)
    assert set(listed) == set(template["Resources"])
    assert {c["Action"] for c in listed.values()} == {"Add"}
    assert all(c["ResourceType"] == template["Resources"][name]["Type"] for name, c in listed.items())

    corrected.client("cloudformation").execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert stack_status(corrected) == "CREATE_COMPLETE"
    assert outputs(corrected)["TaskDefinitionArn"] == task_definition(corrected)["taskDefinitionArn"]
    exports = {e["Name"] for e in corrected.client("cloudformation").list_exports()["Exports"]}
    assert f"{STACK}-TaskDefinitionArn" in exports

    # The next deploy of the same thing: a change set with no changes.
    assert change_set(corrected, template_text, IMAGE_1, "again")["Status"] == "FAILED"
