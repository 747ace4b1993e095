"""Correction "role-policy-documents": the inline policies of an AWS::IAM::Role made by
CloudFormation read back (GetRolePolicy) as the JSON documents they are.

moto 5.2.5's Role.create_from_cloudformation_json stores each inline policy document as the
Python dict the template resolved to, and GetRolePolicy then answers its Python repr
("{'Statement': ...}"), which no JSON reader accepts. (The update correction stores them as JSON
too.)
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.models import Role

_create_role = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def create_role(
    cls: type[Role],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Role:
    """Wraps moto.iam.models.Role.create_from_cloudformation_json: creates the role with moto's own,
    then stores each inline policy document as JSON text, as PutRolePolicy does."""
    role = _create_role(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    for name, document in list(role.policies.items()):
        if not isinstance(document, str):
            role.put_policy(name, json.dumps(document))
    return role


def apply() -> None:
    Role.create_from_cloudformation_json = classmethod(create_role)  # type: ignore[method-assign]
