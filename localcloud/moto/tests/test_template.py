"""The template reading the corrections rely on: references (Fn::Sub included) and dependency
order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.cloudformation.exceptions import ValidationError  # noqa: E402

from corrections import template as tpl  # noqa: E402


def test_fn_sub_variables_are_references_except_literals_and_its_own_variables() -> None:
    value = {
        "Fn::Sub": [
            "arn:${AWS::Partition}:x:${Local}:${Bucket.Arn}/${!Literal}/${Param}",
            {"Local": {"Ref": "Other"}},
        ]
    }
    assert sorted(tpl.references(value)) == sorted(
        [("Ref", "Other", None), ("Ref", "AWS::Partition", None), ("GetAtt", "Bucket", "Arn"), ("Ref", "Param", None)]
    )
    assert tpl.references({"Fn::GetAtt": "Role.Arn"}) == [("GetAtt", "Role", "Arn")]


def test_the_project_template_is_ordered_dependencies_first(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    order = tpl.dependency_order(resources)
    assert sorted(order) == sorted(resources)
    for name in order:
        for needed in tpl.depends_on(resources[name], resources):
            assert order.index(needed) < order.index(name), (needed, name)
    # The state machine's Fn::Sub names the task definition: it must come after it.
    assert "TaskDefinition" in tpl.depends_on(resources["StateMachine"], resources)


def test_a_cycle_is_refused_as_cloudformation_refuses_it() -> None:
    cycle = {"A": {"Type": "T", "Properties": {"X": {"Ref": "B"}}}, "B": {"Type": "T", "DependsOn": "A"}}
    with pytest.raises(ValidationError, match="Circular dependency"):
        tpl.dependency_order(cycle)


def test_replacement_follows_the_documented_update_behaviour() -> None:
    assert tpl.requires_recreation("AWS::ECS::TaskDefinition", "ContainerDefinitions") == "Always"
    assert tpl.requires_recreation("AWS::ECS::TaskDefinition", "Tags") == "Never"
    assert tpl.requires_recreation("AWS::StepFunctions::StateMachine", "DefinitionString") == "Never"
    assert tpl.requires_recreation("AWS::EC2::Subnet", "VpcId") == "Always"
    assert tpl.requires_recreation("AWS::Unknown::Type", "Anything") == "Conditionally"
