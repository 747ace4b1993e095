"""What the tests share: starting the launcher on a free loopback port (and stopping it by its
PID), boto3 clients against it, this project's template with digest-pinned image URIs, stack
helpers, and the assertion the gap tests make about vanilla moto."""

from __future__ import annotations

import ctypes
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE.parent / "launcher.py"
CHECKOUT = HERE.parents[2]
TEMPLATE = CHECKOUT / "provisioner" / "tests" / "snapshots" / "template.json"
MOTO_VERSION = importlib.metadata.version("moto")

# The service's name and task size, as the template has them (a fork's differ).
_TASK_DEFINITION = json.loads(TEMPLATE.read_text())["Resources"]["TaskDefinition"]["Properties"]
SERVICE: str = _TASK_DEFINITION["Family"]
CPU: str = _TASK_DEFINITION["Cpu"]
MEMORY: str = _TASK_DEFINITION["Memory"]

IMAGE_1 = f"127.0.0.1:5055/{SERVICE}@sha256:" + "1" * 64
IMAGE_2 = f"127.0.0.1:5055/{SERVICE}@sha256:" + "2" * 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a launcher never outlives a pytest that is killed.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)


@dataclass
class Launcher:
    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_launcher(log: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> Launcher:
    """Starts the launcher as localcloud does, on a free port; waits until it answers (or exits)."""
    port = free_port()
    out = open(log, "wb")
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), *args, "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        preexec_fn=_die_with_parent,
    )
    out.close()
    launcher = Launcher(process, f"http://127.0.0.1:{port}", log)
    if not wait:
        return launcher
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the launcher exited ({process.returncode}) before answering:\n{launcher.output()}")
        try:
            with urllib.request.urlopen(f"{launcher.endpoint}/moto-api/", timeout=1) as response:
                if response.status == 200:
                    return launcher
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    launcher.stop()
    raise RuntimeError(f"the launcher did not answer within 60 s:\n{launcher.output()}")


class Cloud:
    """boto3 clients for one launcher, after a reset of all its state."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def image_parameter(image: str) -> list[dict[str, str]]:
    return [{"ParameterKey": "ImageUri", "ParameterValue": image}]


def still_a_gap(present: bool, correction: str, fixed: str) -> None:
    """For the tests of vanilla moto: fails, naming the correction to drop, once moto is fixed."""
    assert present, (
        f"vanilla moto {MOTO_VERSION} now {fixed}: moto fixed this upstream, so the correction "
        f"'{correction}' (localcloud/moto/corrections/) is no longer needed; drop it and this test"
    )


STACK = SERVICE


def create_stack(cloud: Cloud, template_text: str, image: str = IMAGE_1, name: str = STACK) -> str:
    """CreateStack (moto completes it before answering); returns the stack id."""
    cf = cloud.client("cloudformation")
    return cf.create_stack(StackName=name, TemplateBody=template_text, Parameters=image_parameter(image))["StackId"]


def stack_status(cloud: Cloud, name_or_id: str = STACK) -> str:
    return cloud.client("cloudformation").describe_stacks(StackName=name_or_id)["Stacks"][0]["StackStatus"]


def events(cloud: Cloud, name_or_id: str = STACK) -> list[dict[str, Any]]:
    """The stack's events, oldest first (DescribeStackEvents answers newest first)."""
    cf = cloud.client("cloudformation")
    return list(reversed(cf.describe_stack_events(StackName=name_or_id)["StackEvents"]))


def resource_events(cloud: Cloud, name_or_id: str = STACK) -> list[dict[str, Any]]:
    return [e for e in events(cloud, name_or_id) if e["ResourceType"] != "AWS::CloudFormation::Stack"]


def physical_id(cloud: Cloud, logical_id: str, name: str = STACK) -> str:
    cf = cloud.client("cloudformation")
    return cf.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)["StackResourceDetail"][
        "PhysicalResourceId"
    ]


def outputs(cloud: Cloud, name_or_id: str = STACK) -> dict[str, str]:
    stack = cloud.client("cloudformation").describe_stacks(StackName=name_or_id)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def state_machine_task_definition(cloud: Cloud) -> str:
    """The task definition ARN the state machine's RunTask state names."""
    sfn = cloud.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"])
    return definition["States"]["RunTask"]["Arguments"]["TaskDefinition"]


def task_definition(cloud: Cloud, arn_or_family: str = SERVICE) -> dict[str, Any]:
    return cloud.client("ecs").describe_task_definition(taskDefinition=arn_or_family)["taskDefinition"]
