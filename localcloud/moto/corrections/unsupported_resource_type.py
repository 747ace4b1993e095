"""Correction "unsupported-resource-type": a resource that cannot be created fails the stack the way
CloudFormation fails a create, with that resource's CREATE_FAILED event and a rollback.

What moto 5.2.5 does instead:
- a resource type it does not support is skipped silently (only the server log says so), and the
  stack reaches CREATE_COMPLETE without it;
- a supported resource whose creation raises (an invalid property value) makes CreateStack answer
  with the service's error (or HTTP 500), while the stack stays CREATE_IN_PROGRESS and what was
  already created stays behind;
- the only events are the stack's own: no CREATE_IN_PROGRESS / CREATE_COMPLETE per resource for a
  deploy tool to print;
- ResourceMap creates any resource the moment something asks for it: CreateStack evaluates the
  stack's exports before creating its resources, so whatever an output refers to is created
  there, outside any order, event or rollback, and a failure escapes as an HTTP error.

Here resources are created in dependency order with their events; the first failure records
CREATE_FAILED with the reason (moto's own message, or the type naming the local cloud's limit),
the stack goes ROLLBACK_IN_PROGRESS, what was created is deleted in reverse order with its
events, and the stack ends ROLLBACK_COMPLETE. (An update that adds such a resource rolls back to
UPDATE_ROLLBACK_COMPLETE through the task-definition-update correction.)
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation import parsing
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.utils import generate_stack_id

from . import lifecycle
from . import template as tpl


def create_stack_resources(self: Stack) -> None:
    """Replaces moto.cloudformation.models.Stack.create_resources (and through it
    ResourceMap.create): creates each resource with its events and rolls the stack back on the
    first failure."""
    self.status = "CREATE_IN_PROGRESS"
    self.description = self.template_dict.get("Description")
    outcome = lifecycle.converge(self, self.template_dict, self.resource_map.input_parameters, "CREATE")
    if outcome.failed is None:
        if outcome.all_ready:
            lifecycle.stack_event(self, "CREATE_COMPLETE")
        # else: a custom resource waits for its Lambda; moto's verify_readiness completes the stack.
        return
    failed = outcome.failed
    reason = (
        f"The following resource(s) failed to {failed.operation}: [{failed.logical_id}]. Rollback requested by user."
    )
    lifecycle.stack_event(self, "ROLLBACK_IN_PROGRESS", reason)
    created = lifecycle.doomed_from_state(self, outcome.created)
    undeleted = lifecycle.delete_in_order(self, created)
    lifecycle.forget(self, [d.name for d in created if d.name not in undeleted])
    if undeleted:
        lifecycle.stack_event(
            self, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{', '.join(undeleted)}]. "
        )
        return
    lifecycle.empty_stack(self)
    lifecycle.stack_event(self, "ROLLBACK_COMPLETE")


def create_stack(
    self: CloudFormationBackend,
    name: str,
    template: str,
    parameters: dict[str, Any],
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
    enable_termination_protection: bool | None = False,
    timeout_in_mins: int | None = None,
    stack_policy_body: str | None = None,
) -> Stack:
    """Replaces moto.cloudformation.models.CloudFormationBackend.create_stack, which evaluates the
    new stack's exports (and so creates what they refer to) before creating its resources. Here
    export names are checked for uniqueness first, from the template alone, and the exports are
    registered once the stack is CREATE_COMPLETE."""
    if name in [stack.name for stack in self.stacks.values()]:
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    stack = Stack(
        stack_id=generate_stack_id(name, self.region_name, self.account_id),
        name=name,
        template=template,
        parameters=parameters,
        account_id=self.account_id,
        region_name=self.region_name,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
        cross_stack_resources=self.exports,
        enable_termination_protection=enable_termination_protection,
        timeout_in_mins=timeout_in_mins,
        stack_policy_body=stack_policy_body,
    )
    taken = set(self.exports) & set(_export_names(stack))
    if taken:
        raise ValidationError(stack.stack_id, message="Export names must be unique across a given region")
    self.stacks[stack.stack_id] = stack
    lifecycle.stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    stack.create_resources()
    if stack.status == "CREATE_COMPLETE":
        lifecycle.refresh_exports(stack)
    return stack


def _export_names(stack: Stack) -> list[str]:
    """The stack's export names, resolved from parameters and pseudo parameters only."""
    view = tpl.View(stack.resource_map, {})
    outputs = stack.template_dict.get("Outputs") or {}
    return [
        parsing.clean_json(o["Export"].get("Name"), view) for o in outputs.values() if isinstance(o, dict) and o.get("Export")
    ]


def get_resource(self: ResourceMap, key: str) -> Any:
    """Replaces moto.cloudformation.parsing.ResourceMap.__getitem__, which creates a resource that
    does not exist yet whenever anything resolves a reference to it. Resources are created by the
    create and update corrections, in dependency order; until then a reference resolves to nothing,
    as moto resolves a resource whose condition is false."""
    if key in self._parsed_resources:
        return self._parsed_resources[key]
    if key in self._resource_json_map:
        return None
    raise KeyError(key)


def apply() -> None:
    Stack.create_resources = create_stack_resources  # type: ignore[method-assign]
    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    ResourceMap.__getitem__ = get_resource  # type: ignore[method-assign]
