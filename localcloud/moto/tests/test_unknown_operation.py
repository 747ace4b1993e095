"""unknown-operation: an operation a JSON-protocol service does not have is 400
UnknownOperationException, as AWS answers, where vanilla moto answers HTTP 500 with an HTML page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from support import Launcher

SIGNED = "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def post(endpoint: str, service: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        endpoint + "/", data=body, method="POST", headers={"Authorization": SIGNED.format(service=service), **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def json_call(endpoint: str, target: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    return post(endpoint, "states", headers, b"{}")


def test_vanilla_moto_answers_an_unknown_operation_with_a_500_html_page(vanilla_launcher: Launcher) -> None:
    status, headers, body = json_call(vanilla_launcher.endpoint, "AWSStepFunctions.Frobnicate")
    assert status == 500 and b"<html" in body.lower(), (status, body)


def test_an_unknown_json_operation_is_unknown_operation_exception(corrected_launcher: Launcher) -> None:
    status, headers, body = json_call(corrected_launcher.endpoint, "AWSStepFunctions.Frobnicate")
    assert status == 400, (status, body)
    error = json.loads(body)
    assert error["__type"] == "UnknownOperationException"
    assert "Frobnicate" in error["message"]
    # A known operation still works.
    status, _, body = json_call(corrected_launcher.endpoint, "AWSStepFunctions.ListStateMachines")
    assert status == 200 and "stateMachines" in json.loads(body), body

