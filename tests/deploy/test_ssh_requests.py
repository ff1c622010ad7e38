"""What the SSH deploy asks each host's engine to create, read without an engine: a role's
container and the proxy, from compose.yaml's services (`deploy/ssh/containers.py`, `proxy.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackctl.deploy import labels
from stackctl.deploy.appdef import Role, load_app
from stackctl.deploy.settings import load_deploy_settings
from stackctl.deploy.ssh import containers
from stackctl.deploy.ssh.containers import CreateRequest, boot_role, service_request
from stackctl.deploy.ssh.proxy import proxy_request

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_HTTP_PORT": "8088"})
APP = load_app(ROOT / "compose.yaml", {})


def web_request(secrets_in: str | None = None) -> CreateRequest:
    return service_request(
        SETTINGS,
        APP.spec("web"),
        name="aliecs-web-v2",
        image="aliecs/web:v2",
        environment=APP.role_environment({"SECRET_KEY": "s3cret"}),
        container_labels={"release": "v2"},
        aliases=[],
        secrets_in=secrets_in,
        restart="no",
    )


def test_a_role_gets_compose_s_health_check_and_stop_grace_and_no_restart_until_ready() -> None:
    request = web_request()
    check = request.options["healthcheck"]
    assert check["Test"] == APP.spec("web").healthcheck.test  # type: ignore[union-attr]
    assert check["Interval"] == 5_000_000_000
    assert request.host["restart_policy"] == {"Name": "no"}
    assert request.host["network_mode"] == request.network == SETTINGS.app
    assert request.options["labels"]["release"] == "v2"
    assert request.options["labels"][labels.IMAGE] == "aliecs/web:v2"


def test_a_role_s_environment_is_compose_s_then_the_app_s_then_the_release_s() -> None:
    request = web_request("aliecs-web-v2-secrets")
    environment = request.options["environment"]
    assert environment["FLASK_CONFIG"] == "production"
    assert environment["SECRET_KEY"] == "s3cret"
    secrets = [m for m in request.host["mounts"] if m["Target"] == "/run/secrets"]
    assert secrets == [
        {
            "Target": "/run/secrets",
            "Source": "aliecs-web-v2-secrets",
            "Type": "volume",
            "ReadOnly": True,
        }
    ]


def test_the_proxy_publishes_the_app_and_sends_to_the_upstream_it_is_given() -> None:
    request = proxy_request(SETTINGS, APP.spec("nginx"), "aliecs/nginx:abc", "aliecs-web-v2:8000")
    assert request.options["name"] == "aliecs-proxy"
    assert request.options["environment"]["NGINX_UPSTREAM"] == "aliecs-web-v2:8000"
    assert request.options["environment"]["UPSTREAM_RECHECK_SECONDS"] == "0"
    assert request.host["port_bindings"] == {80: ("0.0.0.0", 8088)}
    assert request.host["restart_policy"] == {"Name": "unless-stopped"}


class StartsAnything:
    """The engine calls boot_role makes around its create call, answered as a fresh host."""

    def __init__(self) -> None:
        self.api = self
        self.started: list[str] = []

    def remove_container(self, name: str, force: bool = False) -> None:
        from docker.errors import NotFound

        raise NotFound(name)

    def start(self, container: str) -> None:
        self.started.append(container)


def test_a_booted_role_runs_with_the_app_s_deploy_env_under_the_release_s_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: dict[str, Any] = {}

    def create_service_container(client: Any, settings: Any, spec: Any, **request: Any) -> str:
        asked.update(request)
        return "created-id"

    def create_with_secrets(*args: Any, create: Any, **kwargs: Any) -> str:
        return str(create(None))

    monkeypatch.setattr(containers, "create_service_container", create_service_container)
    monkeypatch.setattr(containers, "create_with_secrets", create_with_secrets)
    client = StartsAnything()
    role = next(r for r in APP.roles if r.service == "web")
    assert isinstance(role, Role)
    boot_role(
        client,  # type: ignore[arg-type]
        SETTINGS,
        APP,
        role,
        image="aliecs/web:v2",
        version="v2",
        commit="abc",
        dirty=False,
        environment={"SECRET_KEY": "s3cret"},
    )
    assert asked["environment"]["FLASK_CONFIG"] == "production"
    assert asked["environment"]["SECRET_KEY"] == "s3cret"
    assert client.started == ["created-id"]
