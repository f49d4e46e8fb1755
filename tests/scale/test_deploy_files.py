"""deploy/ stays true: the commands, ports, probes and names its files use are checked
against the real ``fullduplex serve`` command line and app."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from topology import clean_env, fullduplex

from fullduplex_serve import create_app
from fullduplex_serve.cli import serve_command

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def kubernetes() -> list[dict[str, Any]]:
    text = (DEPLOY / "kubernetes" / "fullduplex.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def serve_options(command: list[str]) -> dict[str, Any]:
    """The command parsed by the real ``fullduplex serve`` (raises on an unknown option)."""
    assert command[:2] == ["fullduplex", "serve"], command
    ctx = serve_command.make_context("serve", list(command[2:]))
    return dict(ctx.params)


@pytest.fixture(scope="module")
def help_text() -> str:
    result = subprocess.run(
        [*fullduplex(), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=True,
    )
    return result.stdout


def routes() -> set[str]:
    app = create_app(lambda: None)
    return {getattr(route, "path", "") for route in app.routes}


def test_compose_commands_ports_and_health_match_the_cli(help_text: str) -> None:
    services = compose()["services"]
    serve = {name: svc for name, svc in services.items() if name.startswith("serve-")}
    assert len(serve) == 2
    nginx_conf = (DEPLOY / "nginx.conf").read_text()
    upstreams = re.findall(r"server (\S+):(\d+) ", nginx_conf)
    for name, svc in serve.items():
        command = svc["command"]
        for option in (arg for arg in command if arg.startswith("--")):
            assert option in help_text, f"{name}: {option} is not an option of fullduplex serve"
        params = serve_options(command)
        assert (name, str(params["port"])) in upstreams, (name, upstreams)
        assert params["session_store"] == "redis://redis:6379/0"
        assert "redis" in services
        health = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{params['port']}/healthz" in health
        grace = int(str(svc["stop_grace_period"]).rstrip("s"))
        assert grace > params["drain_grace"], "stop_grace_period must outlast the drain"
    assert "/healthz" in routes()
    assert "/browser" in routes()
    assert "hash $fullduplex_affinity consistent" in nginx_conf
    assert "proxy_next_upstream error timeout http_502 http_503" in nginx_conf


def test_kubernetes_deployment_probes_drain_and_redis_match_the_cli(help_text: str) -> None:
    docs = kubernetes()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    pod = deployments["fullduplex-serve"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for option in (arg for arg in container["command"] if arg.startswith("--")):
        assert option in help_text
    params = serve_options(container["command"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == params["port"]
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in routes()
        assert get["path"] == "/healthz"
        assert ports[get["port"]] == params["port"]
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] >= sleep + params["drain_grace"] + 5
    # the store URL names the Redis Service and its port
    match = re.fullmatch(r"redis://([^:/]+):(\d+)/\d+", params["session_store"])
    assert match is not None
    redis = services[match[1]]
    assert int(match[2]) in [p["port"] for p in redis["spec"]["ports"]]
    assert (
        redis["spec"]["selector"]
        == deployments["fullduplex-redis"]["spec"]["selector"]["matchLabels"]
    )


def test_an_unknown_option_in_a_deploy_file_would_be_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        serve_options(["fullduplex", "serve", "--sesion-store", "redis://redis:6379/0"])
