"""The compose deployment: well formed, and every service runs real code."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_every_component_runs_a_module_that_exists() -> None:
    commands = [s["command"] for s in _services().values() if "build" in s]

    modules = [c[2] for c in commands if c[:2] == ["python", "-m"]]

    assert sorted(modules) == sorted(
        [
            "command_api",
            "query_api",
            "notifier",
            "infra.relay",
            "projectors",
            "projectors.opensearch",
            "ocr_worker",
            "infra.docs",
        ]
    )
    assert all(importlib.util.find_spec(m) is not None for m in modules)


def test_the_image_is_built_from_a_dockerfile_in_the_repository() -> None:
    builds = {s["build"]["dockerfile"] for s in _services().values() if "build" in s}

    assert builds == {"infra/deploy/Dockerfile"}
    assert (ROOT / "infra/deploy/Dockerfile").exists()


def test_the_proxy_routes_to_services_on_their_configured_ports() -> None:
    caddyfile = (ROOT / "infra/deploy/Caddyfile").read_text()
    defaults = Settings()
    expected = {
        "command_api": defaults.command_api_port,
        "query_api": defaults.query_api_port,
        "notifier": defaults.notifier_port,
        "docs": defaults.docs_port,
    }

    upstreams = dict(re.findall(r"reverse_proxy \{\$\w+:(\w+):(\d+)\}", caddyfile))

    assert {name: int(port) for name, port in upstreams.items()} == expected
    assert set(upstreams) <= set(_services())


def test_ocr_workers_get_no_database_credentials() -> None:
    worker = _services()["ocr_worker"]

    assert "PAPERLEDGER_DATABASE_URL" not in worker["environment"]


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("the docker client has no compose plugin")

    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
