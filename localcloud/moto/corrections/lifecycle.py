"""The one place the corrections create, update and delete a stack's resources: in dependency order,
each with its own stack events, a failure caught as the resource's failure (not an HTTP error), and
what it takes to roll back.

moto's own ResourceMap creates a resource whenever something asks for it, updates resources in
template order, deletes them in whatever order eventually works, and records events only for the
stack. The correction modules replace moto's entry points (Stack.create_resources, Stack.update,
Stack.delete, the change set functions) with functions that call this module; the resources
themselves are still made, changed and removed by moto's own model classes and backends.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import Event
from moto.cloudformation import parsing
from moto.cloudformation.parsing import (
    NULL_MODELS,
    parse_and_create_resource,
    parse_and_update_resource,
    resource_class_from_type,
)
from moto.ec2 import models as ec2_models
from moto.ec2.models.core import TaggedEC2Resource
from moto.ecs.models import ecs_backends

from . import template as tpl

MOTO_VERSION = importlib.metadata.version("moto")


# --- Events ---------------------------------------------------------------------------------------


def record(
    stack: Any,
    logical_id: str,
    resource_type: str,
    status: str,
    physical_id: str | None = "",
    reason: str | None = None,
    properties: dict[str, Any] | None = None,
) -> None:
    """One resource's stack event, as DescribeStackEvents shows it and a deploy tool prints it."""
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=json.dumps(properties, default=str) if properties is not None else None,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """The stack's own status and event. A reason also becomes the stack's StackStatusReason (which
    moto serialises from this attribute), kept through a rollback so DescribeStacks of a rolled
    back stack still says why; an operation that succeeds clears it."""
    stack.status = status
    if reason is not None:
        stack.stack_status_reason = reason
    elif status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"):
        stack.stack_status_reason = None
    stack._add_stack_event(status, resource_status_reason=reason)


def refresh_exports(stack: Any) -> None:
    """The region's exports of this stack follow its outputs (after a create or an update)."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[stack.account_id][stack.region_name]
    if backend.stacks.get(stack.stack_id) is not stack:
        return
    for name in [name for name, export in backend.exports.items() if export.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)
    for export in stack.exports:
        backend.exports[export.name] = export


def failure_reason(error: BaseException) -> str:
    """The text a failed resource's event carries: moto's own message where it has one."""
    message = getattr(error, "message", None)
    if isinstance(message, str) and message:
        return message
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def physical_id(instance: Any) -> str:
    return str(getattr(instance, "physical_resource_id", "") or "")


class ResourceFailed(Exception):
    """A resource that could not be created or updated; the stack rolls back."""

    def __init__(self, logical_id: str, operation: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        # "create" or "update", as the stack's status reason names it.
        self.operation = operation
        self.reason = reason


# --- Creating and updating --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one pass of `converge` did, for the cleanup after it or the rollback instead of it."""

    created: list[str] = field(default_factory=list)
    # Replaced resources: the old instance and its applied state, deleted by the cleanup (or put
    # back by a rollback).
    replaced: dict[str, tuple[Any, tpl.Applied]] = field(default_factory=dict)
    # Resources in the applied state that the new template no longer has, for the cleanup.
    removed: list[str] = field(default_factory=list)
    failed: ResourceFailed | None = None
    # False while a custom resource waits for its Lambda (moto's own notion of readiness).
    all_ready: bool = True


def converge(stack: Any, template: dict[str, Any], parameters: dict[str, Any], verb: str) -> Outcome:
    """Brings the stack's resources to `template` with `parameters`: creates what is new, updates
    what resolves to other properties than it was applied with, in dependency order so that a
    resource is resolved after everything it refers to; stops at the first failure. `verb` is
    "CREATE" or "UPDATE", for the events. Deletions are left to the caller's cleanup."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    resource_map._template = template
    resource_map.input_parameters = parameters
    # moto keeps parameters of earlier templates in resolved_parameters; a parameter that is gone
    # must not stay resolvable.
    for name in list(resource_map.resolved_parameters):
        resource_map._parsed_resources.pop(name, None)
    resource_map.resolved_parameters = {}
    resource_map.load_mapping()
    resource_map.transform_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resources = template.get("Resources") or {}
    resource_map._resource_json_map = resources
    resource_map.tags.update(
        {"aws:cloudformation:stack-name": stack.name, "aws:cloudformation:stack-id": stack.stack_id}
    )

    outcome = Outcome()
    active = [name for name in tpl.dependency_order(resources) if tpl.condition_holds(resources[name], resource_map)]
    for name in active:
        body = resources[name]
        try:
            if name not in state:
                _create(stack, name, body, verb, outcome)
            else:
                _update(stack, name, body, outcome)
        except ResourceFailed as failed:
            outcome.failed = failed
            return outcome
    outcome.removed = [name for name in state if name not in active and name not in outcome.replaced]
    return outcome


def _create(stack: Any, name: str, body: dict[str, Any], verb: str, outcome: Outcome) -> None:
    resource_map = stack.resource_map
    resource_type = body.get("Type", "")
    record(stack, name, resource_type, "CREATE_IN_PROGRESS")
    if resource_type not in NULL_MODELS and resource_class_from_type(resource_type) is None:
        reason = f"Resource type {resource_type} is not supported by the local cloud (moto {MOTO_VERSION})"
        record(stack, name, resource_type, "CREATE_FAILED", reason=reason)
        raise ResourceFailed(name, "create", reason)
    try:
        properties = parsing.clean_json(tpl.properties_of(body), resource_map)
        instance = parse_and_create_resource(
            name, copy.deepcopy(body), resource_map, account_id=stack.account_id, region_name=stack.region_name
        )
    except Exception as error:  # moto raises whatever its backend raises; each is this resource's failure
        reason = failure_reason(error)
        record(stack, name, resource_type, "CREATE_FAILED", reason=reason)
        raise ResourceFailed(name, "create", reason) from error
    if instance is not None:
        resource_map._parsed_resources[name] = instance
        _tag_ec2_resource(stack, name, instance)
        if not instance.is_created():
            outcome.all_ready = False
    tpl.applied(resource_map)[name] = tpl.Applied(resource_type, copy.deepcopy(body), properties)
    outcome.created.append(name)
    record(stack, name, resource_type, "CREATE_COMPLETE", physical_id(instance), properties=properties)


def _tag_ec2_resource(stack: Any, name: str, instance: Any) -> None:
    """The aws:cloudformation:* tags CloudFormation puts on what it creates (moto's ResourceMap.create
    does this for EC2 resources; kept)."""
    if isinstance(instance, TaggedEC2Resource):
        tags = dict(stack.resource_map.tags, **{"aws:cloudformation:logical-id": name})
        backend = ec2_models.ec2_backends[stack.account_id][stack.region_name]
        backend.create_tags([instance.physical_resource_id], tags)


def _update(stack: Any, name: str, body: dict[str, Any], outcome: Outcome) -> None:
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    before = state[name]
    resource_type = body.get("Type", "")
    if before.resource_type != resource_type:
        reason = f"Update of resource type is not permitted: {before.resource_type} cannot become {resource_type}"
        record(stack, name, resource_type, "UPDATE_FAILED", reason=reason)
        raise ResourceFailed(name, "update", reason)
    old = resource_map._parsed_resources.get(name)
    try:
        properties = parsing.clean_json(tpl.properties_of(body), resource_map)
    except Exception as error:
        reason = failure_reason(error)
        record(stack, name, resource_type, "UPDATE_FAILED", physical_id(old), reason=reason)
        raise ResourceFailed(name, "update", reason) from error
    changed = tpl.changed_properties(before.properties, properties)
    if not changed:
        # The template text may differ (a reformatted value); what was applied still holds.
        state[name] = tpl.Applied(resource_type, copy.deepcopy(body), properties)
        return
    recreation = tpl.most_impact(tpl.requires_recreation(resource_type, p) for p in changed)
    model = resource_class_from_type(resource_type)
    updatable = model is not None and not hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")
    if recreation == "Always" or (recreation == "Conditionally" and not updatable):
        _replace(stack, name, body, properties, old, outcome)
        return
    if not updatable:
        reason = (
            f"moto {MOTO_VERSION} cannot update {resource_type} in place (changed: {', '.join(changed)}); "
            "the local cloud does not support this change"
        )
        record(stack, name, resource_type, "UPDATE_FAILED", physical_id(old), reason=reason)
        raise ResourceFailed(name, "update", reason)
    record(stack, name, resource_type, "UPDATE_IN_PROGRESS", physical_id(old))
    try:
        new = parse_and_update_resource(
            name, copy.deepcopy(body), resource_map, account_id=stack.account_id, region_name=stack.region_name
        )
    except Exception as error:
        reason = failure_reason(error)
        record(stack, name, resource_type, "UPDATE_FAILED", physical_id(old), reason=reason)
        raise ResourceFailed(name, "update", reason) from error
    if new is not None:
        resource_map._parsed_resources[name] = new
    state[name] = tpl.Applied(resource_type, copy.deepcopy(body), properties)
    record(stack, name, resource_type, "UPDATE_COMPLETE", physical_id(new), properties=properties)


def _replace(
    stack: Any, name: str, body: dict[str, Any], properties: dict[str, Any], old: Any, outcome: Outcome
) -> None:
    """CloudFormation's replacement: the new resource first, the old one deleted by the cleanup once
    everything that refers to it points at the new one."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    resource_type = body.get("Type", "")
    record(
        stack,
        name,
        resource_type,
        "UPDATE_IN_PROGRESS",
        physical_id(old),
        reason="Requested update requires the creation of a new physical resource; hence creating one.",
    )
    try:
        new = parse_and_create_resource(
            name, copy.deepcopy(body), resource_map, account_id=stack.account_id, region_name=stack.region_name
        )
    except Exception as error:
        reason = failure_reason(error)
        record(stack, name, resource_type, "UPDATE_FAILED", physical_id(old), reason=reason)
        raise ResourceFailed(name, "update", reason) from error
    resource_map._parsed_resources[name] = new
    _tag_ec2_resource(stack, name, new)
    outcome.replaced[name] = (old, state[name])
    state[name] = tpl.Applied(resource_type, copy.deepcopy(body), properties)
    record(stack, name, resource_type, "UPDATE_COMPLETE", physical_id(new), properties=properties)


# --- Deleting ---------------------------------------------------------------------------------------


def _delete_internet_gateway(instance: Any, account_id: str, region: str) -> None:
    ec2_models.ec2_backends[account_id][region].delete_internet_gateway(instance.id)


def _delete_gateway_attachment(instance: Any, account_id: str, region: str) -> None:
    backend = ec2_models.ec2_backends[account_id][region]
    gateway_id = instance.gateway_id
    if gateway_id.startswith("vgw-"):
        backend.detach_vpn_gateway(gateway_id, instance.vpc_id)
    else:
        backend.detach_internet_gateway(gateway_id, instance.vpc_id)


def _delete_route_table(instance: Any, account_id: str, region: str) -> None:
    ec2_models.ec2_backends[account_id][region].delete_route_table(instance.id)


def _delete_route(instance: Any, account_id: str, region: str) -> None:
    ec2_models.ec2_backends[account_id][region].delete_route(
        instance.route_table.id,
        instance.destination_cidr_block,
        instance.destination_ipv6_cidr_block,
        instance.destination_prefix_list.id if instance.destination_prefix_list else None,
    )


def _delete_subnet_route_table_association(instance: Any, account_id: str, region: str) -> None:
    backend = ec2_models.ec2_backends[account_id][region]
    backend.subnet_associations.pop(f"{instance.route_table_id}:{instance.subnet_id}", None)


def _delete_cluster(instance: Any, account_id: str, region: str) -> None:
    ecs_backends[account_id][region].delete_cluster(instance.arn)


def _deregister_task_definition(instance: Any, account_id: str, region: str) -> None:
    ecs_backends[account_id][region].deregister_task_definition(instance.arn)


# The resource types of this project's template that moto 5.2.5 cannot delete through
# CloudFormation (their model has neither `delete` nor `delete_from_cloudformation_json`, and
# moto's parse_and_delete_resource then does nothing): deleted through moto's own backend calls.
DELETERS: dict[str, Callable[[Any, str, str], None]] = {
    "AWS::EC2::InternetGateway": _delete_internet_gateway,
    "AWS::EC2::VPCGatewayAttachment": _delete_gateway_attachment,
    "AWS::EC2::RouteTable": _delete_route_table,
    "AWS::EC2::Route": _delete_route,
    "AWS::EC2::SubnetRouteTableAssociation": _delete_subnet_route_table_association,
    "AWS::ECS::Cluster": _delete_cluster,
    "AWS::ECS::TaskDefinition": _deregister_task_definition,
}


def _moto_can_delete(instance: Any, resource_type: str) -> bool:
    delete = getattr(instance, "delete", None)
    if callable(delete):
        return True
    model = resource_class_from_type(resource_type)
    return model is not None and not hasattr(model.delete_from_cloudformation_json, "__isabstractmethod__")


@dataclass
class Doomed:
    """One resource to delete: its logical id, type, moto instance, template text and the
    properties it was applied with."""

    name: str
    resource_type: str
    instance: Any
    raw: dict[str, Any]
    properties: dict[str, Any]


def delete_one(stack: Any, doomed: Doomed) -> bool:
    """Deletes one resource with its events. True when it is gone (or was never there, or is
    retained); False when it could not be deleted."""
    name, resource_type, instance, raw = doomed.name, doomed.resource_type, doomed.instance, doomed.raw
    physical = physical_id(instance)
    if raw.get("DeletionPolicy") == "Retain":
        record(stack, name, resource_type, "DELETE_SKIPPED", physical)
        return True
    record(stack, name, resource_type, "DELETE_IN_PROGRESS", physical)
    if instance is None or isinstance(instance, str):
        record(stack, name, resource_type, "DELETE_COMPLETE", physical)
        return True
    deleter = DELETERS.get(resource_type)
    if deleter is None and not _moto_can_delete(instance, resource_type):
        reason = f"moto {MOTO_VERSION} cannot delete {resource_type}; the local resource is left behind"
        record(stack, name, resource_type, "DELETE_SKIPPED", physical, reason=reason)
        return True
    try:
        if deleter is not None:
            deleter(instance, stack.account_id, stack.region_name)
        else:
            # moto's own way: the model's delete, else its delete_from_cloudformation_json, given
            # the resolved properties (moto passes the unresolved template, which some models read).
            stack.resource_map._delete_resource(instance, dict(raw, Properties=doomed.properties))
    except Exception as error:
        record(stack, name, resource_type, "DELETE_FAILED", physical, reason=failure_reason(error))
        return False
    record(stack, name, resource_type, "DELETE_COMPLETE", physical)
    return True


def delete_in_order(stack: Any, doomed: list[Doomed]) -> list[str]:
    """Deletes `doomed` in reverse dependency order (a resource after everything that refers to
    it). A resource that something undeletable still refers to is left alone, as CloudFormation
    does. Returns the logical ids that could not be deleted."""
    bodies = {d.name: d.raw for d in doomed}
    by_name: dict[str, list[Doomed]] = {}
    for d in doomed:
        by_name.setdefault(d.name, []).append(d)
    order = list(reversed(tpl.dependency_order(bodies)))
    failed: list[str] = []
    blocked: set[str] = set()
    for name in order:
        if name in blocked:
            failed.append(name)
            continue
        for entry in by_name[name]:
            if not delete_one(stack, entry):
                failed.append(name)
                blocked.update(tpl.depends_on(entry.raw, bodies))
    return failed


def doomed_from_state(stack: Any, names: list[str]) -> list[Doomed]:
    """The applied resources `names` as they are now, for `delete_in_order`."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    return [_doomed(name, resource_map._parsed_resources.get(name), state[name]) for name in names if name in state]


def _doomed(name: str, instance: Any, applied: tpl.Applied) -> Doomed:
    return Doomed(name, applied.resource_type, instance, applied.raw, applied.properties)


def forget(stack: Any, names: list[str]) -> None:
    """Drops deleted resources from moto's map and the applied state."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    for name in names:
        state.pop(name, None)
        resource_map._parsed_resources.pop(name, None)


def empty_stack(stack: Any) -> None:
    """After a stack's resources are gone (rolled back or deleted): nothing left for moto's lazy
    ResourceMap to create again when DescribeStacks evaluates outputs or DescribeStackResources
    lists resources."""
    from moto.cloudformation.parsing import OutputMap

    stack.resource_map._resource_json_map = {}
    stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)


def cleanup(stack: Any, outcome: Outcome, also: list[Doomed] | None = None) -> list[str]:
    """After a successful pass: deletes what the template no longer has, what was replaced, and
    `also`, in reverse dependency order. Returns what could not be deleted (CloudFormation reports
    those and still completes)."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    doomed = [_doomed(n, resource_map._parsed_resources.get(n), state[n]) for n in outcome.removed]
    doomed += [_doomed(n, old, before) for n, (old, before) in outcome.replaced.items()]
    doomed += also or []
    failed = delete_in_order(stack, doomed)
    for name in outcome.removed:
        if name not in failed:
            state.pop(name, None)
            resource_map._parsed_resources.pop(name, None)
    return failed


def put_back_replaced(stack: Any, outcome: Outcome) -> list[Doomed]:
    """For a rollback: the replaced resources get their old instance and applied state back (the old
    ones still exist: only a successful update's cleanup deletes them); returns the new instances,
    to be deleted."""
    resource_map = stack.resource_map
    state = tpl.applied(resource_map)
    doomed = []
    for name, (old, before) in outcome.replaced.items():
        new = resource_map._parsed_resources.get(name)
        doomed.append(_doomed(name, new, state[name]))
        resource_map._parsed_resources[name] = old
        state[name] = before
    return doomed
