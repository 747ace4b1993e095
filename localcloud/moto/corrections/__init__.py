"""The local cloud's corrections to moto's CloudFormation, applied in process by the launcher before
moto's server starts (the way LocalStack builds on moto).

Each correction is named, replaces the moto functions at fault (each replacement's documentation
says which and why), and is paired in tests/ with a test that shows vanilla moto still has the gap,
so an upgrade that fixes it upstream is noticed and the correction dropped. Per-resource stack
events are part of the create, update and delete corrections (lifecycle.py records them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The moto release these corrections were written against and tested with.
PATCHED_MOTO_VERSION = "5.2.5"


@dataclass(frozen=True)
class Correction:
    name: str
    summary: str
    apply: Callable[[], None]


def all_corrections() -> list[Correction]:
    """Every correction, in the order they are applied. Importing them imports moto's CloudFormation
    (and with it every service model it can create), which is why this is a function."""
    from . import (
        change_set_diff,
        delete_stack_order,
        fn_sub,
        role_policy_documents,
        task_definition_fields,
        task_definition_update,
        unknown_operation,
        unsupported_resource_type,
    )

    return [
        Correction(
            "task-definition-fields",
            "a CloudFormation task definition keeps cpu, networkMode, requiresCompatibilities, roles, runtimePlatform",
            task_definition_fields.apply,
        ),
        Correction(
            "task-definition-update",
            "UpdateStack updates what resolves differently (Fn::Sub too), in dependency order; a new "
            "task definition revision is complete and everything referring to it follows",
            task_definition_update.apply,
        ),
        Correction(
            "role-policy-documents",
            "a CloudFormation role's inline policies read back as JSON, not as Python's repr",
            role_policy_documents.apply,
        ),
        Correction(
            "change-set-diff",
            "change sets list the real Add/Modify/Remove with Replacement; no change ends FAILED",
            change_set_diff.apply,
        ),
        Correction(
            "delete-stack-order",
            "DeleteStack deletes every resource in reverse dependency order and ends DELETE_COMPLETE",
            delete_stack_order.apply,
        ),
        Correction(
            "unsupported-resource-type",
            "a resource that cannot be created fails the stack (CREATE_FAILED, ROLLBACK_COMPLETE)",
            unsupported_resource_type.apply,
        ),
        Correction(
            "unknown-operation",
            "an operation a JSON-protocol service does not have answers 400 UnknownOperationException, "
            "as AWS does, not HTTP 500 with an HTML page",
            unknown_operation.apply,
        ),
        Correction(
            "fn-sub",
            "Fn::Sub substitutes ${Var} and ${!Literal} only; `$$` and other `$` text stay byte for byte",
            fn_sub.apply,
        ),
    ]


def apply_all() -> list[str]:
    """Applies every correction; returns their names."""
    corrections = all_corrections()
    for correction in corrections:
        correction.apply()
    return [c.name for c in corrections]
