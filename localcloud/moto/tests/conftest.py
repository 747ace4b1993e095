"""Fixtures: launcher processes (one corrected, one vanilla) for the whole session, each reset
between tests through moto's own /moto-api/reset, and this project's template.

Every launcher started here is terminated by its PID when the session ends, and is sent SIGTERM by
the kernel if pytest itself dies first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support import TEMPLATE, Cloud, Launcher, start_launcher


@pytest.fixture(scope="session")
def corrected_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = start_launcher(tmp_path_factory.mktemp("corrected") / "moto.log")
    yield launcher
    launcher.stop()


@pytest.fixture(scope="session")
def vanilla_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = start_launcher(tmp_path_factory.mktemp("vanilla") / "moto.log", "--no-corrections")
    yield launcher
    launcher.stop()


@pytest.fixture
def corrected(corrected_launcher: Launcher) -> Cloud:
    return Cloud(corrected_launcher.endpoint)


@pytest.fixture
def vanilla(vanilla_launcher: Launcher) -> Cloud:
    return Cloud(vanilla_launcher.endpoint)


@pytest.fixture(scope="session")
def template_text() -> str:
    return TEMPLATE.read_text()


@pytest.fixture
def template(template_text: str) -> dict[str, Any]:
    return json.loads(template_text)
