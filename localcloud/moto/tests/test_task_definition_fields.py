"""task-definition-fields: a CloudFormation task definition reads back as the template says."""

from __future__ import annotations

from typing import Any

from support import CPU, IMAGE_1, MEMORY, SERVICE, Cloud, create_stack, outputs, physical_id, still_a_gap, task_definition

LOST_BY_MOTO = {
    "cpu": CPU,
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
}


def test_vanilla_moto_still_loses_task_definition_fields(vanilla: Cloud, template_text: str) -> None:
    create_stack(vanilla, template_text)
    definition = task_definition(vanilla)
    lost = [field for field, value in LOST_BY_MOTO.items() if definition.get(field) != value]
    lost += [field for field in ("executionRoleArn", "taskRoleArn") if not definition.get(field)]
    still_a_gap(
        bool(lost),
        "task-definition-fields",
        "keeps cpu, networkMode, requiresCompatibilities, runtimePlatform and the role ARNs",
    )


def test_a_task_definition_made_by_cloudformation_reads_back_as_the_template_says(
    corrected: Cloud, template_text: str, template: dict[str, Any]
) -> None:
    create_stack(corrected, template_text)
    definition = task_definition(corrected)
    iam = corrected.client("iam")

    for field, value in LOST_BY_MOTO.items():
        assert definition.get(field) == value, (field, definition)
    assert definition["memory"] == MEMORY
    assert definition["family"] == SERVICE
    assert definition["revision"] == 1 and definition["status"] == "ACTIVE"
    assert definition["taskDefinitionArn"] == outputs(corrected)["TaskDefinitionArn"]
    assert (
        definition["executionRoleArn"]
        == iam.get_role(RoleName=physical_id(corrected, "TaskExecutionRole"))["Role"]["Arn"]
    )
    assert definition["taskRoleArn"] == outputs(corrected)["TaskRoleArn"]
    assert "FARGATE" in definition["compatibilities"]

    (container,) = definition["containerDefinitions"]
    assert container["name"] == SERVICE
    assert container["image"] == IMAGE_1
    assert container["memory"] == int(MEMORY)
    assert container["essential"] is True
    assert container["environment"] == [{"name": "RUST_LOG", "value": "info"}]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": f"/ecs/{SERVICE}",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": SERVICE,
        },
    }
