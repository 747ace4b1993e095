"""The launcher itself: it starts moto like moto_server, says which corrections it applied, and
refuses a moto release its corrections were not written for."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import MOTO_VERSION, Launcher, start_launcher

PATCHED = "5.2.5"


def fake_moto_release(directory: Path, version: str) -> dict[str, str]:
    """An environment in which importlib.metadata reports another moto release (a dist-info that
    comes first on the path); moto's code itself stays the installed one."""
    dist_info = directory / f"moto-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: moto\nVersion: {version}\n")
    return {"PYTHONPATH": str(directory)}


def test_the_installed_moto_is_the_release_the_corrections_patch() -> None:
    assert MOTO_VERSION == PATCHED, f"tools/requirements.txt pins moto {PATCHED}; this environment has {MOTO_VERSION}"


def test_the_launcher_names_the_corrections_it_applied(corrected_launcher: Launcher) -> None:
    first_line = corrected_launcher.output().splitlines()[0]
    assert first_line.startswith(f"localcloud: moto {PATCHED} with corrections: task-definition-fields, "), first_line
    for name in ("task-definition-update", "change-set-diff", "delete-stack-order", "unsupported-resource-type"):
        assert name in first_line


def test_another_moto_release_is_refused_naming_both_versions(tmp_path: Path) -> None:
    env = fake_moto_release(tmp_path, "9.9.9")
    launcher = start_launcher(tmp_path / "moto.log", env=env, wait=False)
    try:
        assert launcher.process.wait(timeout=60) == 2
    finally:
        launcher.stop()
    output = launcher.output()
    assert "the installed moto is 9.9.9" in output and f"patch moto {PATCHED}" in output, output
    assert "LOCALCLOUD_MOTO_ANY_VERSION=1" in output and "Running on" not in output


@pytest.mark.parametrize("args, env", [((), {"LOCALCLOUD_MOTO_ANY_VERSION": "1"}), (("--no-corrections",), {})])
def test_another_moto_release_starts_when_told_to(tmp_path: Path, args: tuple[str, ...], env: dict[str, str]) -> None:
    launcher = start_launcher(tmp_path / "moto.log", *args, env={**fake_moto_release(tmp_path, "9.9.9"), **env})
    try:
        assert launcher.process.poll() is None
    finally:
        launcher.stop()
    assert launcher.process.returncode is not None
