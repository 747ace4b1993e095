"""Per-resource stack events (recorded by the create, update and delete corrections): what a deploy
tool prints while it waits on a stack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from support import IMAGE_1, IMAGE_2, STACK, Cloud, create_stack, events, image_parameter, resource_events, still_a_gap


def test_vanilla_moto_still_records_only_stack_events(vanilla: Cloud, template_text: str) -> None:
    create_stack(vanilla, template_text)
    still_a_gap(
        resource_events(vanilla) == [],
        "unsupported-resource-type, task-definition-update and delete-stack-order (their per-resource events)",
        "records per-resource stack events",
    )


def test_create_records_each_resource_in_dependency_order(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    stack_id = create_stack(corrected, template_text, IMAGE_1)
    history = events(corrected)
    for event in history:
        assert event["StackId"] == stack_id and event["StackName"] == STACK
        assert isinstance(event["Timestamp"], datetime) and event["EventId"]
    assert [e["Timestamp"] for e in history] == sorted(e["Timestamp"] for e in history)

    by_resource: dict[str, list[dict[str, Any]]] = {}
    for event in resource_events(corrected):
        by_resource.setdefault(event["LogicalResourceId"], []).append(event)
    assert set(by_resource) == set(template["Resources"])
    for name, (started, completed) in by_resource.items():
        assert started["ResourceType"] == completed["ResourceType"] == template["Resources"][name]["Type"]
        assert (started["ResourceStatus"], completed["ResourceStatus"]) == ("CREATE_IN_PROGRESS", "CREATE_COMPLETE")
        assert completed["PhysicalResourceId"], completed
        assert "ResourceProperties" in completed
    order = [e["LogicalResourceId"] for e in resource_events(corrected) if e["ResourceStatus"] == "CREATE_COMPLETE"]
    assert order.index("TaskDefinition") < order.index("StateMachine")
    assert order.index("Vpc") < order.index("PublicSubnet1") < order.index("PublicSubnet1RouteTableAssociation")
    stack_statuses = [e["ResourceStatus"] for e in history if e["LogicalResourceId"] == STACK]
    assert stack_statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]


def test_update_records_the_resources_it_changes(corrected: Cloud, template_text: str) -> None:
    create_stack(corrected, template_text, IMAGE_1)
    before = len(events(corrected))
    corrected.client("cloudformation").update_stack(
        StackName=STACK, TemplateBody=template_text, Parameters=image_parameter(IMAGE_2)
    )
    update = events(corrected)[before:]
    seen = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in update]
    assert seen[0] == (STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    assert (
        "TaskDefinition",
        "UPDATE_IN_PROGRESS",
        "Requested update requires the creation of a new physical resource; hence creating one.",
    ) in seen
    assert ("StateMachine", "UPDATE_COMPLETE", None) in seen
    assert (STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None) in seen
    # The replaced revision is deleted in the cleanup, after every reference moved.
    assert [s for n, s, _ in seen if n == "TaskDefinition"] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
    ]
    assert seen[-1] == (STACK, "UPDATE_COMPLETE", None)
    new = next(
        e for e in update if e["LogicalResourceId"] == "TaskDefinition" and e["ResourceStatus"] == "UPDATE_COMPLETE"
    )
    old = next(
        e for e in update if e["LogicalResourceId"] == "TaskDefinition" and e["ResourceStatus"] == "DELETE_COMPLETE"
    )
    assert new["PhysicalResourceId"].endswith(":2") and old["PhysicalResourceId"].endswith(":1")
