"""Correction "change-set-diff": a change set on an existing stack lists the real difference against
the deployed stack, ends FAILED when there is none, and executes through the corrected create and
update.

What moto 5.2.5 does instead:
- ChangeSet.diff compares template text only (and, for parameters, only `Ref`s), so an UPDATE
  change set with a new ImageUri lists nothing to change, and no change carries Replacement,
  Scope or Details;
- CreateChangeSet with the very template text and parameters of the stack answers ValidationError
  "No updates are to be performed." (that is UpdateStack's answer; AWS creates the change set and
  fails it), while the same template reformatted is compared as parsed data;
- ExecuteChangeSet applies an UPDATE through ResourceMap.update (see task-definition-update), a
  CREATE without the stack's create path (no rollback on failure), and executes a FAILED change
  set as readily as an AVAILABLE one.

Here the change set's Changes are computed like CloudFormation's: every resource of the new
template is resolved, in dependency order, against the deployed resources, with the values that
are only known after execution (a replaced resource's new id, a modified resource's attributes)
left as placeholders. A property that differs is a change: Static when its value is known
(DirectModification, ParameterReference), Dynamic when it waits for another resource
(ResourceReference, ResourceAttribute). Replacement follows from the property's update behaviour
as AWS documents it: True for a static change that requires replacement, Conditional for a
dynamic one (or a conditional property), False otherwise.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, CloudFormationError, ValidationError
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation import parsing
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import generate_changeset_id, generate_stack_id, validate_create_change_set

from . import lifecycle
from . import template as tpl

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."

_UPDATABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


def _parameters(change_set: ChangeSet) -> dict[str, Any]:
    """The parameters a change set applies with: as update_stack takes them (none given keeps the
    stack's)."""
    return change_set.parameters or dict(change_set.stack.resource_map.input_parameters)


def diff(self: ChangeSet) -> list[Change]:
    """Replaces moto.cloudformation.models.ChangeSet.diff (template text against template text)
    with the change CloudFormation computes against the deployed stack."""
    stack = self.stack
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    values = tpl.load_values(stack, self.template_dict, _parameters(self))
    resources = self.template_dict.get("Resources") or {}
    order = [name for name in tpl.dependency_order(resources) if tpl.condition_holds(resources[name], values)]
    current = {name: resource_map._parsed_resources.get(name) for name in state}
    view = tpl.View(values, dict(current))
    old_parameters = resource_map.resolved_parameters
    new_parameters = values.resolved_parameters
    changed_parameters = {
        name
        for name in set(old_parameters) | set(new_parameters)
        if old_parameters.get(name) != new_parameters.get(name)
    }

    changes = []
    for name in order:
        body = resources[name]
        resource_type = body.get("Type", "")
        if name not in state:
            view.resources[name] = tpl.Placeholder(name)
            changes.append(_change("Add", name, resource_type))
            continue
        resolved = parsing.clean_json(tpl.properties_of(body), view)
        details = _details(resource_type, state[name], body, resolved, changed_parameters)
        if not details:
            continue
        replacement = _replacement(details)
        physical = lifecycle.physical_id(current[name])
        # After a replacement even the Ref is new; otherwise only attributes may change.
        view.resources[name] = tpl.Placeholder(name, physical if replacement == "False" else None)
        changes.append(_change("Modify", name, resource_type, physical, replacement, details))
    for name, before in state.items():
        if name not in order:
            changes.append(_change("Remove", name, before.resource_type, lifecycle.physical_id(current[name])))
    return changes


def _change(
    action: str,
    name: str,
    resource_type: str,
    physical: str | None = None,
    replacement: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> Change:
    change = Change(action=action, logical_resource_id=name, resource_type=resource_type)
    # Serialised by moto into ResourceChange's PhysicalResourceId, Replacement, Scope, Details.
    change.physical_resource_id = physical  # type: ignore[attr-defined]
    change.replacement = replacement  # type: ignore[attr-defined]
    change.scope = ["Properties"] if details else []  # type: ignore[attr-defined]
    change.details = details or []  # type: ignore[attr-defined]
    return change


def _details(
    resource_type: str,
    before: tpl.Applied,
    body: dict[str, Any],
    resolved: dict[str, Any],
    changed_parameters: set[str],
) -> list[dict[str, Any]]:
    """ResourceChangeDetail entries, one per changed property and cause."""
    old_text = before.raw.get("Properties") or {}
    new_text = body.get("Properties") or {}
    details = []
    for prop in sorted(set(before.properties) | set(resolved)):
        value = resolved.get(prop)
        waiting = tpl.dynamic_references(value)
        if not waiting and value == before.properties.get(prop):
            continue
        causes: list[tuple[str, str, str | None]] = []
        if old_text.get(prop) != new_text.get(prop):
            causes.append(("Static", "DirectModification", None))
        for kind, name, _ in tpl.references(new_text.get(prop)):
            if kind == "Ref" and name in changed_parameters:
                causes.append(("Static", "ParameterReference", name))
        for kind, entity in waiting:
            causes.append(("Dynamic", "ResourceReference" if kind == "Ref" else "ResourceAttribute", entity))
        if not causes:
            # A pseudo parameter or mapping changed under an unchanged text.
            causes.append(("Static", "DirectModification", None))
        target = {
            "Attribute": "Properties",
            "Name": prop,
            "RequiresRecreation": tpl.requires_recreation(resource_type, prop),
        }
        for evaluation, source, entity in dict.fromkeys(causes):
            detail: dict[str, Any] = {"Target": target, "Evaluation": evaluation, "ChangeSource": source}
            if entity:
                detail["CausingEntity"] = entity
            details.append(detail)
    return details


def _replacement(details: list[dict[str, Any]]) -> str:
    """AWS's rule: Always + Static is True, Always + Dynamic or Conditionally is Conditional, the
    change with the most impact decides."""
    replacement = "False"
    for detail in details:
        recreation = detail["Target"]["RequiresRecreation"]
        if recreation == "Always" and detail["Evaluation"] == "Static":
            return "True"
        if recreation in ("Always", "Conditionally"):
            replacement = "Conditional"
    return replacement


def create_change_set(
    self: CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    """Replaces moto.cloudformation.models.CloudFormationBackend.create_change_set: the change set's
    status comes from its real changes (none: FAILED with AWS's reason, UNAVAILABLE). A CREATE
    change set reuses a stack still in review instead of adding a second stack of that name, and
    is refused for a stack that exists; an UPDATE change set is refused for a stack that cannot be
    updated (ROLLBACK_COMPLETE ...), as on AWS."""
    validate_create_change_set(change_set_name)
    live = next((s for s in self.stacks.values() if s.name == stack_name or s.stack_id == stack_name), None)
    if change_set_type == "UPDATE":
        if live is None:
            raise ValidationError(stack_name)
        if live.status not in _UPDATABLE:
            raise ValidationError(
                live.stack_id, message=f"Stack:{live.stack_id} is in {live.status} state and can not be updated."
            )
        stack = live
    elif live is not None and live.status != "REVIEW_IN_PROGRESS":
        raise AlreadyExistsException(f"Stack [{stack_name}] already exists")
    elif live is not None:
        stack = live
        stack.parameters = parameters
    else:
        stack = Stack(
            stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
            name=stack_name,
            template={},
            parameters=parameters,
            account_id=self.account_id,
            region_name=self.region_name,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        self.stacks[stack.stack_id] = stack
        stack.status = "REVIEW_IN_PROGRESS"
        stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")

    change_set_id = generate_changeset_id(change_set_name, self.region_name, self.account_id)
    change_set = ChangeSet(
        change_set_type=change_set_type,
        change_set_id=change_set_id,
        change_set_name=change_set_name,
        stack=stack,
        template=template,
        parameters=parameters,
        description=description,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
    )
    if change_set.changes:
        change_set.status = "CREATE_COMPLETE"
        change_set.execution_status = "AVAILABLE"
    else:
        change_set.status = "FAILED"
        change_set.execution_status = "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    self.change_sets[change_set_id] = change_set
    return change_set_id, stack.stack_id


_validate_different_update = CloudFormationResponse._validate_different_update


def validate_different_update(self: CloudFormationResponse, *args: Any, **kwargs: Any) -> None:
    """Wraps moto.cloudformation.responses.CloudFormationResponse._validate_different_update, which
    answers "No updates are to be performed." to CreateChangeSet too. That is UpdateStack's answer
    (kept); a change set without changes is created and fails, which create_change_set does."""
    if self._get_action() == "CreateChangeSet":
        return
    _validate_different_update(self, *args, **kwargs)


def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    """Replaces moto.cloudformation.models.CloudFormationBackend.execute_change_set: only an
    AVAILABLE change set runs; a CREATE goes through the stack's create (events, rollback), an
    UPDATE through Stack.update (see task-definition-update), which also keep the stack's exports
    in step with its outputs."""
    change_set = self.change_sets.get(change_set_name) or next(
        (
            cs
            for cs in self.change_sets.values()
            if cs.change_set_name == change_set_name and stack_name in (None, cs.stack_name, cs.stack_id)
        ),
        None,
    )
    if change_set is None:
        raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]"
        )
    stack = self.stacks[change_set.stack_id]
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        lifecycle.stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
        stack.create_resources()
        succeeded = stack.status == "CREATE_COMPLETE"
        if succeeded:
            lifecycle.refresh_exports(stack)
    else:
        stack.update(
            change_set.template, change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags or None
        )
        succeeded = stack.status == "UPDATE_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"


def apply() -> None:
    ChangeSet.diff = diff  # type: ignore[method-assign]
    CloudFormationBackend.create_change_set = create_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationResponse._validate_different_update = validate_different_update  # type: ignore[method-assign]
