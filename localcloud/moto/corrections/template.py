"""What the corrections read from a CloudFormation template, without creating anything.

- which resources a resource refers to (Ref, Fn::GetAtt, the variables of Fn::Sub, DependsOn), and
  from that the order CloudFormation creates them in (and, reversed, deletes them in);
- a view of a stack's resources that moto's own `clean_json` resolves intrinsic functions against
  without ever creating a resource (moto's ResourceMap creates any resource it is asked for), with
  placeholders for values that only exist once a change is carried out;
- which property changes CloudFormation carries out by replacing the resource, for the resource
  types of this project's template (AWS's "Update requires" in each property's documentation).
"""

from __future__ import annotations

import collections.abc
import copy
import re
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.parsing import ResourceMap

# `${Name}` and `${Name.Attribute}` in an Fn::Sub string; `${!Literal}` is no variable.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def references(value: Any) -> list[tuple[str, str, str | None]]:
    """Every (kind, logical name, attribute) a template value refers to: kind "Ref" or "GetAtt",
    the variables of Fn::Sub included, pseudo parameters and parameters included (callers keep the
    names they care about)."""
    found: list[tuple[str, str, str | None]] = []

    def walk(node: Any, hidden: frozenset[str] = frozenset()) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, hidden)
            return
        if not isinstance(node, dict):
            return
        for key, inner in node.items():
            if key == "Ref" and isinstance(inner, str):
                found.append(("Ref", inner, None))
            elif key == "Fn::GetAtt":
                parts = inner.split(".", 1) if isinstance(inner, str) else inner
                if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], str):
                    found.append(("GetAtt", parts[0], parts[1] if isinstance(parts[1], str) else None))
                    if not isinstance(parts[1], str):
                        walk(parts[1], hidden)
            elif key == "Fn::Sub":
                text, variables = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                local = hidden | frozenset(variables) if isinstance(variables, dict) else hidden
                if isinstance(variables, dict):
                    walk(list(variables.values()), hidden)
                if isinstance(text, str):
                    for name in _SUB_VARIABLE.findall(text):
                        if name in local:
                            continue
                        if "." in name:
                            resource, attribute = name.split(".", 1)
                            found.append(("GetAtt", resource, attribute))
                        else:
                            found.append(("Ref", name, None))
            else:
                walk(inner, hidden)

    walk(value)
    return found


def depends_on(resource_json: dict[str, Any], resources: collections.abc.Container[str]) -> set[str]:
    """The resources of `resources` that this resource needs to exist first."""
    needed = {name for _, name, _ in references(resource_json) if name in resources}
    explicit = resource_json.get("DependsOn", [])
    needed.update([explicit] if isinstance(explicit, str) else explicit)
    return {name for name in needed if name in resources}


def dependency_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """The logical ids in an order CloudFormation may create them in: every resource after the
    resources it refers to, template order otherwise. Fails the way CloudFormation validation does
    on a cycle."""
    needs = {name: depends_on(body, resources) for name, body in resources.items()}
    for body in resources.values():
        explicit = body.get("DependsOn", [])
        for target in [explicit] if isinstance(explicit, str) else explicit:
            if target not in resources:
                raise ValidationError(
                    message=f"Template format error: Unresolved resource dependencies [{target}] "
                    "in the Resources block of the template"
                )
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(resources):
        ready = [name for name in resources if name not in done and needs[name] <= done]
        if not ready:
            cycle = sorted(name for name in resources if name not in done)
            raise ValidationError(message=f"Circular dependency between resources: {cycle}")
        for name in ready:
            order.append(name)
            done.add(name)
    return order


def condition_holds(resource_json: dict[str, Any], resource_map: Any) -> bool:
    condition = resource_json.get("Condition")
    return not condition or bool(resource_map.lazy_condition_map[condition])


@dataclass
class Applied:
    """What the corrections last created or updated for one logical resource: the template text and
    the properties as they were resolved then. Diffs compare against this, the way CloudFormation
    compares against the stack's last deployed state."""

    resource_type: str
    raw: dict[str, Any]
    properties: dict[str, Any]


def applied(resource_map: ResourceMap) -> dict[str, Applied]:
    """The stack's applied resources, kept on moto's ResourceMap (one per stack)."""
    state = getattr(resource_map, "_localcloud_applied", None)
    if state is None:
        state = {}
        resource_map._localcloud_applied = state  # type: ignore[attr-defined]
    return state


def load_values(stack: Any, template: dict[str, Any], parameters: dict[str, Any]) -> ResourceMap:
    """A moto ResourceMap of `template` with `parameters`, mappings and conditions loaded and no
    resource created: the values a change would resolve with."""
    scratch = ResourceMap(
        stack.stack_id,
        stack.name,
        parameters,
        stack.tags,
        region_name=stack.region_name,
        account_id=stack.account_id,
        template=template,
        cross_stack_resources=stack.cross_stack_resources,
    )
    scratch.load_mapping()
    scratch.transform_mapping()
    scratch.load_parameters()
    scratch.load_conditions()
    return scratch


DYNAMIC = re.compile(r"\[\[localcloud-dynamic (Ref|GetAtt) ([^\]]+)\]\]")


class Placeholder:
    """A resource whose physical id or attributes are only known once a change is carried out.
    Resolving against it leaves a marker that `dynamic_references` finds again."""

    def __init__(self, logical_id: str, physical_resource_id: str | None = None) -> None:
        self.logical_resource_id = logical_id
        self.physical_resource_id = physical_resource_id or f"[[localcloud-dynamic Ref {logical_id}]]"

    def get_cfn_attribute(self, attribute: str) -> str:
        return f"[[localcloud-dynamic GetAtt {self.logical_resource_id}.{attribute}]]"


def dynamic_references(value: Any) -> list[tuple[str, str]]:
    """The placeholders a resolved value contains, as (kind, "Name" or "Name.Attribute")."""
    if isinstance(value, str):
        return DYNAMIC.findall(value)
    if isinstance(value, dict):
        return [found for inner in value.values() for found in dynamic_references(inner)]
    if isinstance(value, list):
        return [found for inner in value for found in dynamic_references(inner)]
    return []


class View(collections.abc.Mapping):  # type: ignore[type-arg]
    """What moto's `clean_json` resolves against, in place of a ResourceMap: parameters, pseudo
    parameters and mappings from `values`, resources from `resources` (instances or placeholders),
    and nothing is ever created."""

    def __init__(self, values: ResourceMap, resources: dict[str, Any]) -> None:
        self._values = values
        self.resources = resources
        self.lazy_condition_map = values.lazy_condition_map
        self.cross_stack_resources = values.cross_stack_resources

    def __getitem__(self, key: str) -> Any:
        if key in self.resources:
            return self.resources[key]
        if key in self._values._parsed_resources:
            return self._values._parsed_resources[key]
        if key in self._values._resource_json_map:
            # A resource whose condition is false: moto resolves it to nothing.
            return None
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)


def properties_of(resource_json: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(resource_json.get("Properties") or {})


# How CloudFormation carries out a change to a property ("Update requires" in the AWS resource
# reference): "Never" (no or some interruption), "Conditionally", "Always" (replacement). Per type:
# the behaviour of properties not listed, and the listed exceptions. Types not here are unknown:
# every change to them is "Conditionally", so a change set says so rather than guess.
_UPDATE_BEHAVIOUR: dict[str, tuple[str, dict[str, str]]] = {
    "AWS::EC2::VPC": (
        "Never",
        {
            "CidrBlock": "Always",
            "Ipv4IpamPoolId": "Always",
            "Ipv4NetmaskLength": "Always",
            "InstanceTenancy": "Conditionally",
        },
    ),
    "AWS::EC2::InternetGateway": ("Never", {}),
    "AWS::EC2::VPCGatewayAttachment": ("Never", {}),
    "AWS::EC2::RouteTable": ("Never", {"VpcId": "Always"}),
    "AWS::EC2::Route": (
        "Never",
        {
            "RouteTableId": "Always",
            "DestinationCidrBlock": "Always",
            "DestinationIpv6CidrBlock": "Always",
            "DestinationPrefixListId": "Always",
        },
    ),
    "AWS::EC2::Subnet": (
        "Never",
        {
            "AvailabilityZone": "Always",
            "AvailabilityZoneId": "Always",
            "CidrBlock": "Always",
            "VpcId": "Always",
            "Ipv4IpamPoolId": "Always",
            "Ipv4NetmaskLength": "Always",
            "Ipv6Native": "Always",
            "OutpostArn": "Always",
        },
    ),
    "AWS::EC2::SubnetRouteTableAssociation": ("Always", {}),
    "AWS::EC2::SecurityGroup": ("Never", {"GroupDescription": "Always", "GroupName": "Always", "VpcId": "Always"}),
    "AWS::ECS::Cluster": ("Never", {"ClusterName": "Always"}),
    # A task definition revision is immutable: every change registers a new one.
    "AWS::ECS::TaskDefinition": ("Always", {"Tags": "Never"}),
    "AWS::IAM::Role": ("Never", {"RoleName": "Always", "Path": "Always"}),
    "AWS::Logs::LogGroup": ("Never", {"LogGroupName": "Always", "LogGroupClass": "Always"}),
    "AWS::SNS::Topic": ("Never", {"TopicName": "Always", "FifoTopic": "Always"}),
    "AWS::StepFunctions::StateMachine": ("Never", {"StateMachineName": "Always", "StateMachineType": "Always"}),
}

_IMPACT = {"Never": 0, "Conditionally": 1, "Always": 2}


def requires_recreation(resource_type: str, property_name: str) -> str:
    default, exceptions = _UPDATE_BEHAVIOUR.get(resource_type, ("Conditionally", {}))
    return exceptions.get(property_name, default)


def most_impact(behaviours: collections.abc.Iterable[str]) -> str:
    return max(behaviours, key=lambda b: _IMPACT[b], default="Never")


def changed_properties(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
