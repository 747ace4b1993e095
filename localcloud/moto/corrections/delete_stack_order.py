"""Correction "delete-stack-order": DeleteStack deletes every resource of the stack, in reverse
dependency order, and the stack ends DELETE_COMPLETE.

What moto 5.2.5 does instead, measured with this project's template: ResourceMap.delete retries
deletions in any order until the count stops going down, but moto has no CloudFormation delete
for an internet gateway, a gateway attachment, a route table, a route, a subnet route table
association, an ECS cluster or a task definition (parse_and_delete_resource does nothing for
them). The route table stays, so the VPC fails with DependencyViolation; DeleteStack answers with
that error after CloudFormationBackend.delete_stack already took the stack out of its list, so the
stack is gone while its VPC, internet gateway, route table and ECS cluster leak, and its task
definition stays ACTIVE. The stack gets no per-resource events.

Here each resource is deleted after everything that refers to it, through moto's own model (or,
for the types above, moto's own backend calls: DetachInternetGateway, DeleteRouteTable,
DeleteCluster, DeregisterTaskDefinition ...), with DELETE_IN_PROGRESS / DELETE_COMPLETE events.
The stack ends DELETE_COMPLETE (DescribeStacks finds it by stack id, not by name, as on AWS); a
resource that cannot be deleted ends DELETE_FAILED and so does the stack, which stays listed.
"""

from __future__ import annotations

from moto.cloudformation.models import CloudFormationBackend, Stack

from . import lifecycle
from . import template as tpl


def delete_stack_resources(self: Stack) -> None:
    """Replaces moto.cloudformation.models.Stack.delete (and through it ResourceMap.delete)."""
    lifecycle.stack_event(self, "DELETE_IN_PROGRESS", "User Initiated")
    state = tpl.applied(self.resource_map)
    doomed = lifecycle.doomed_from_state(self, list(state))
    undeleted = lifecycle.delete_in_order(self, doomed)
    lifecycle.forget(self, [d.name for d in doomed if d.name not in undeleted])
    if undeleted:
        lifecycle.stack_event(
            self, "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(undeleted)}]. "
        )
        return
    lifecycle.empty_stack(self)
    lifecycle.stack_event(self, "DELETE_COMPLETE")


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    """Replaces moto.cloudformation.models.CloudFormationBackend.delete_stack, which removes the
    stack from its list before deleting its resources, so a failed deletion loses the stack. Here
    the stack moves to the deleted stacks only once it is DELETE_COMPLETE; deleting a stack that
    does not exist succeeds and does nothing, as on AWS."""
    stack = self.stacks.get(name_or_stack_id)
    if stack is None:
        stack = next((s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None:
        return
    stack.delete()
    if stack.status != "DELETE_COMPLETE":
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for name in [name for name, export in self.exports.items() if export.exporting_stack_id == stack.stack_id]:
        self.exports.pop(name)


def apply() -> None:
    Stack.delete = delete_stack_resources  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
