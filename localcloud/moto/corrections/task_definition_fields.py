"""Correction "task-definition-fields": an AWS::ECS::TaskDefinition made by CloudFormation keeps every
property of the template.

moto 5.2.5 registers a CloudFormation task definition with only its family, container definitions,
volumes and memory: cpu reads back null, networkMode "bridge", and requiresCompatibilities,
executionRoleArn, taskRoleArn and runtimePlatform are lost, so the Fargate task definition of this
project's template is not one (RunTask and the local Fargate need those fields).
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import TaskDefinition, ecs_backends


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase) if value is not None else None


def register_arguments(resource_name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """RegisterTaskDefinition's arguments (moto's backend signature) from the resource's resolved
    CloudFormation properties."""
    cpu, memory = properties.get("Cpu"), properties.get("Memory")
    return {
        # CloudFormation names a family-less task definition after the stack and logical id, which
        # is what moto's generated resource name is.
        "family": properties.get("Family", resource_name),
        "container_definitions": _camel(properties.get("ContainerDefinitions", [])),
        "volumes": _camel(properties.get("Volumes", [])),
        "network_mode": properties.get("NetworkMode"),
        "tags": _camel(properties.get("Tags")),
        "placement_constraints": _camel(properties.get("PlacementConstraints")),
        "requires_compatibilities": properties.get("RequiresCompatibilities"),
        "cpu": str(cpu) if cpu is not None else None,
        "memory": str(memory) if memory is not None else None,
        "task_role_arn": properties.get("TaskRoleArn"),
        "execution_role_arn": properties.get("ExecutionRoleArn"),
        "proxy_configuration": _camel(properties.get("ProxyConfiguration")),
        "inference_accelerators": _camel(properties.get("InferenceAccelerators")),
        "runtime_platform": _camel(properties.get("RuntimePlatform")),
        "ipc_mode": properties.get("IpcMode"),
        "pid_mode": properties.get("PidMode"),
        "ephemeral_storage": _camel(properties.get("EphemeralStorage")),
    }


def create_task_definition(
    cls: type[TaskDefinition],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> TaskDefinition:
    """Replaces moto.ecs.models.TaskDefinition.create_from_cloudformation_json, which passes only
    family, container definitions, volumes and memory to register_task_definition. Registers the
    task definition with every property the template gives, through the same backend call
    RegisterTaskDefinition uses."""
    properties = cloudformation_json.get("Properties") or {}
    backend = ecs_backends[account_id][region_name]
    return backend.register_task_definition(**register_arguments(resource_name, properties))


def apply() -> None:
    TaskDefinition.create_from_cloudformation_json = classmethod(create_task_definition)  # type: ignore[method-assign]
