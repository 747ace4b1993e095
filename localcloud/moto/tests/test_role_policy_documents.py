"""role-policy-documents: a CloudFormation role's inline policy reads back as JSON."""

from __future__ import annotations

import json

from support import SERVICE, Cloud, create_stack, physical_id, still_a_gap


def policy_document(cloud: Cloud) -> str:
    """GetRolePolicy's document as the wire carries it (URL-encoded JSON on AWS; boto3 decodes it
    into a dict, or leaves a str when it is no JSON)."""
    document = cloud.client("iam").get_role_policy(
        RoleName=physical_id(cloud, "StateMachineRole"), PolicyName="RunTaskAndNotify"
    )["PolicyDocument"]
    return document if isinstance(document, str) else json.dumps(document)


def test_vanilla_moto_still_answers_a_python_repr_for_a_cloudformation_role_policy(
    vanilla: Cloud, template_text: str
) -> None:
    create_stack(vanilla, template_text)
    try:
        json.loads(policy_document(vanilla))
        readable = True
    except json.JSONDecodeError:
        readable = False
    still_a_gap(not readable, "role-policy-documents", "answers GetRolePolicy of a CloudFormation role with JSON")


def test_a_cloudformation_role_policy_reads_back_as_the_template_says(corrected: Cloud, template_text: str) -> None:
    create_stack(corrected, template_text)
    document = json.loads(policy_document(corrected))
    statements = document["Statement"]
    assert document["Version"] == "2012-10-17"
    assert statements[0]["Action"] == ["ecs:RunTask"]
    assert statements[0]["Resource"].endswith(f":task-definition/{SERVICE}:1")
    assert statements[-1] == {
        "Action": ["sns:Publish"],
        "Effect": "Allow",
        "Resource": f"arn:aws:sns:us-east-1:123456789012:{SERVICE}-notifications",
    }
