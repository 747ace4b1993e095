"""fn-sub: Fn::Sub substitutes `${Var}` and `${!Literal}` only and keeps every other `$` byte for
byte, as CloudFormation does, where vanilla moto's string.Template turns `$$` into `$` (so a state
machine could not name the context object, `$$.Execution.Id`, nor hold most JSONata)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from support import IMAGE_1, Cloud, create_stack, still_a_gap

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corrections.fn_sub import substitute  # noqa: E402

# What a JSONPath or JSONata definition holds that string.Template would touch.
TEXT = 'ctx $$.Execution.Id, {% $states.input.name & $count($x) %}, cost $5, ${Var}, ${!Literal}, $Var'


def outputs_stack(cloud: Cloud, value: Any) -> dict[str, str]:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "fn-sub-topic"}}},
        "Outputs": {"Value": {"Value": value}},
    }
    cf = cloud.client("cloudformation")
    cf.create_stack(StackName="fn-sub", TemplateBody=json.dumps(template))
    stack = cf.describe_stacks(StackName="fn-sub")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_vanilla_moto_turns_double_dollars_into_one_in_fn_sub(vanilla: Cloud) -> None:
    value = outputs_stack(vanilla, {"Fn::Sub": [TEXT, {"Var": "v"}]})["Value"]
    still_a_gap("ctx $.Execution.Id" in value, "fn-sub", "keeps `$$` in Fn::Sub")


def test_fn_sub_substitutes_variables_only_and_keeps_every_other_dollar(corrected: Cloud) -> None:
    value = outputs_stack(corrected, {"Fn::Sub": [TEXT, {"Var": {"Fn::GetAtt": ["Topic", "TopicName"]}}]})["Value"]
    assert value == (
        "ctx $$.Execution.Id, {% $states.input.name & $count($x) %}, cost $5, fn-sub-topic, ${Literal}, $Var"
    ), value


def test_fn_sub_resolves_parameters_resources_attributes_and_pseudo_parameters(corrected: Cloud) -> None:
    text = "${AWS::Region}|${Topic.TopicName}|${Topic}|$$|${!Topic}"
    value = outputs_stack(corrected, {"Fn::Sub": text})["Value"]
    region, name, arn, dollars, literal = value.split("|")
    assert (region, name, dollars, literal) == ("us-east-1", "fn-sub-topic", "$$", "${Topic}"), value
    assert arn.startswith("arn:aws:sns:us-east-1:") and arn.endswith(":fn-sub-topic"), value


def test_a_state_machine_keeps_the_context_object_through_the_stack(corrected: Cloud, template: dict[str, Any]) -> None:
    # This project's own template, its definition naming the execution (what a notification carries).
    machine = template["Resources"]["StateMachine"]["Properties"]
    text, variables = machine["DefinitionString"]["Fn::Sub"]
    definition = json.loads(text)
    # The definition is JSONata: an expression full of `$`, and a literal holding `$$`.
    output = {"execution": "{% $states.context.Execution.Id %}", "literal": "$$.Execution.Id costs $5"}
    definition["States"]["Succeeded"] = {"Type": "Pass", "Output": output, "End": True}
    machine["DefinitionString"]["Fn::Sub"] = [json.dumps(definition), variables]
    create_stack(corrected, json.dumps(template), IMAGE_1)
    sfn = corrected.client("stepfunctions")
    (summary,) = sfn.list_state_machines()["stateMachines"]
    stored = json.loads(sfn.describe_state_machine(stateMachineArn=summary["stateMachineArn"])["definition"])
    assert stored["States"]["Succeeded"]["Output"] == output
    # The variables are still substituted around it.
    assert stored["States"]["RunTask"]["Resource"] == "arn:aws:states:::ecs:runTask.waitForTaskToken"
    assert stored["States"]["RunTask"]["Arguments"]["TaskDefinition"].startswith("arn:aws:ecs:")


def test_substitute_leaves_an_unresolved_or_unclosed_variable_as_written() -> None:
    resolve = {"A": "a"}.get
    assert substitute("${A}${B}${!C}$${A}${A", resolve) == "a${B}${C}$a${A"
    assert substitute("", resolve) == ""
