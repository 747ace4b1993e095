"""Correction "task-definition-update": UpdateStack (and an executed UPDATE change set) changes exactly
the resources whose resolved properties change, in dependency order, so a new task definition
revision carries the full container definitions and everything that refers to it points at it.

What moto 5.2.5 does instead, measured with this project's template and a new ImageUri:
- ResourceMap.update picks the resources to modify from the template text and from parameters
  referenced by `Ref` only; a parameter seen through `Fn::Sub`, or a resource that refers to a
  replaced one (the state machine's `${TaskDefinitionArn}`, the role's policy), is never updated, so
  the state machine keeps naming revision 1. Modified resources are visited in template order,
  so even a resource that is picked can resolve its references before they change.
- TaskDefinition.update_from_cloudformation_json registers revision 2 from the unconverted
  CloudFormation keys: its container has no name, image, memory, environment or log options.
- Role.update_from_cloudformation_json applies only the description, so a changed inline policy
  (ours names the task definition) never reaches IAM.
- A failing resource surfaces as an HTTP error with the stack left UPDATE_IN_PROGRESS.

Here a resource is updated when the properties it resolves to differ from those it was applied
with (the way CloudFormation decides), which covers `Ref`, `Fn::Sub`, `Fn::GetAtt` and changed
physical ids alike. A change CloudFormation carries out by replacement (every task definition
property but Tags) creates the new resource through moto's create, and the old one is deleted by
the cleanup after every reference moved; other changes go through moto's own update. A failure
rolls the stack back to UPDATE_ROLLBACK_COMPLETE.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.models import Stack
from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition

from . import lifecycle
from . import template as tpl


def update_stack(
    self: Stack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Replaces moto.cloudformation.models.Stack.update (which hands over to ResourceMap.update,
    see the module's documentation): converges the stack's resources on the new template, with
    per-resource events, a cleanup of replaced and removed resources, and a rollback on failure."""
    previous_template = self.template
    previous_parameters = dict(self.resource_map.input_parameters)
    new_parameters = parameters if parameters else previous_parameters
    new_template = Stack.parse_template(template)
    # What CloudFormation rejects before it starts: a cycle, a missing parameter.
    tpl.dependency_order(new_template.get("Resources") or {})
    tpl.load_values(self, new_template, new_parameters)

    lifecycle.stack_event(self, "UPDATE_IN_PROGRESS", "User Initiated")
    self.template = template
    self._parse_template()
    outcome = lifecycle.converge(self, self.template_dict, new_parameters, "UPDATE")
    if outcome.failed is not None:
        _roll_back(self, outcome, previous_template, previous_parameters)
        return
    lifecycle.stack_event(self, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    lifecycle.cleanup(self, outcome)
    self.output_map = self._create_output_map()
    lifecycle.refresh_exports(self)
    self.description = self.template_dict.get("Description")
    self.parameters = new_parameters
    self.role_arn = role_arn
    if tags is not None:
        self.tags = tags
    lifecycle.stack_event(self, "UPDATE_COMPLETE")


def _roll_back(self: Stack, outcome: lifecycle.Outcome, template: Any, parameters: dict[str, Any]) -> None:
    """CloudFormation's update rollback: replaced resources get their old physical resource back,
    modified ones are updated back, added ones are deleted."""
    failed = outcome.failed
    assert failed is not None
    lifecycle.stack_event(
        self,
        "UPDATE_ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to {failed.operation}: [{failed.logical_id}]. ",
    )
    new_instances = lifecycle.put_back_replaced(self, outcome)
    self.template = template
    self._parse_template()
    back = lifecycle.converge(self, self.template_dict, parameters, "UPDATE")
    if back.failed is not None:
        lifecycle.stack_event(
            self,
            "UPDATE_ROLLBACK_FAILED",
            f"The following resource(s) failed to {back.failed.operation}: [{back.failed.logical_id}]. ",
        )
        return
    lifecycle.stack_event(self, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    lifecycle.cleanup(self, back, also=new_instances)
    self.output_map = self._create_output_map()
    lifecycle.stack_event(self, "UPDATE_ROLLBACK_COMPLETE")


def update_role(
    cls: type[Role],
    original_resource: Role,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Role:
    """Replaces moto.iam.models.Role.update_from_cloudformation_json, which sets only the
    description (and reads MaxSessionDuration from a "RoleDescription" property). Applies the
    properties CloudFormation updates without replacing a role: description, maximum session
    duration, trust policy and inline policies (managed policy ARNs moto ignores on create too)."""
    properties = cloudformation_json.get("Properties") or {}
    backend = iam_backends[account_id][get_partition(region_name)]
    role = backend.get_role(original_resource.name)
    backend.update_role(role.name, properties.get("Description", ""), properties.get("MaxSessionDuration", 3600))
    trust = properties.get("AssumeRolePolicyDocument")
    if trust is not None:
        backend.update_assume_role_policy(role.name, trust if isinstance(trust, str) else json.dumps(trust))
    wanted = {policy["PolicyName"]: policy["PolicyDocument"] for policy in properties.get("Policies", [])}
    for name in [name for name in role.policies if name not in wanted]:
        role.delete_policy(name)
    for name, document in wanted.items():
        # As PutRolePolicy stores it: JSON text (moto's create stores the dict itself, which
        # GetRolePolicy then answers as Python's repr).
        role.put_policy(name, document if isinstance(document, str) else json.dumps(document))
    return role


def apply() -> None:
    Stack.update = update_stack  # type: ignore[method-assign]
    Role.update_from_cloudformation_json = classmethod(update_role)  # type: ignore[method-assign]
