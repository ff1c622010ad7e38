"""compose.yaml's x-deploy block and deploy's secrets, checked before any host is touched: each
mistake is one line naming the file, the key and the value. No engine, no host."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackctl.deploy.appdef import load_app
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.release import check_secrets, release_environment
from stackctl.deploy.settings import load_deploy_settings
from stackctl.errors import ComposeError, StackError

ROOT = Path(__file__).resolve().parents[2]

SERVICES = """
services:
  web:
    image: app
    healthcheck: {test: ["CMD", "true"]}
  worker:
    image: app
  redis:
    image: redis
    volumes: ["data:/data"]
  nginx:
    image: proxy
volumes:
  data:
"""


def app_from(tmp_path: Path, block: str, hosts: tuple[str, ...] = ()) -> object:
    (tmp_path / "compose.yaml").write_text(SERVICES + textwrap.dedent(block))
    return load_app(tmp_path / "compose.yaml", {}, hosts=hosts)


def test_the_projects_compose_file_defines_web_and_worker_roles_and_a_redis_accessory() -> None:
    app = load_app(ROOT / "compose.yaml", {})

    assert [(r.service, r.proxy_port) for r in app.roles] == [("web", 8000), ("worker", None)]
    assert [a.service for a in app.accessories] == ["redis"]
    assert app.proxy == "nginx"
    assert app.spec("worker").stop_signal == "SIGQUIT"
    assert app.spec("redis").volumes[0].source == "redis-data"


def test_roles_may_run_on_some_hosts_only(tmp_path: Path) -> None:
    app = app_from(
        tmp_path,
        """
        x-deploy:
          proxy: nginx
          roles:
            web: {proxy: 8000}
            worker: {hosts: [b]}
          accessories:
            redis: {hosts: [b]}
        """,
        hosts=("a", "b"),
    )

    assert [r.service for r in app.roles_on("a")] == ["web"]  # type: ignore[attr-defined]
    assert [r.service for r in app.roles_on("b")] == ["web", "worker"]  # type: ignore[attr-defined]
    assert app.accessories_on("a") == ()  # type: ignore[attr-defined]


BAD = [
    (
        "a role naming a missing service",
        "x-deploy: {roles: {wrker: {}}}",
        'compose.yaml: x-deploy.roles.wrker: no service "wrker" in the compose file'
        " (services: web, worker, redis, nginx)",
    ),
    (
        "an accessory naming a missing service",
        "x-deploy: {roles: {worker: {}}, accessories: {postgres: {}}}",
        'compose.yaml: x-deploy.accessories.postgres: no service "postgres"',
    ),
    (
        "a proxied role without a health check",
        "x-deploy: {proxy: nginx, roles: {worker: {proxy: 8000}}}",
        "compose.yaml: x-deploy.roles.worker.proxy: proxied role worker has no healthcheck:"
        " add services.worker.healthcheck",
    ),
    (
        "an empty host list",
        "x-deploy: {roles: {worker: {hosts: []}}}",
        "compose.yaml: x-deploy.roles.worker.hosts: empty host list []: name at least one host",
    ),
    (
        "a host outside DEPLOY_HOSTS",
        "x-deploy: {roles: {worker: {hosts: [c]}}}",
        'compose.yaml: x-deploy.roles.worker.hosts[0]: host "c" is not in DEPLOY_HOSTS (a, b)',
    ),
    (
        "a proxied role with no proxy service",
        "x-deploy: {roles: {web: {proxy: 8000}}}",
        "compose.yaml: x-deploy.roles.web.proxy: role web is proxied but no `x-deploy.proxy`",
    ),
    (
        "a bad proxy port",
        "x-deploy: {proxy: nginx, roles: {web: {proxy: http}}}",
        'compose.yaml: x-deploy.roles.web.proxy: invalid port "http"',
    ),
    (
        "an unknown key",
        "x-deploy: {roles: {web: {proxi: 8000}}}",
        "compose.yaml: x-deploy.roles.web.proxi: unsupported key (supported: proxy, hosts)",
    ),
    (
        "a service both role and accessory",
        "x-deploy: {roles: {redis: {}}, accessories: {redis: {}}}",
        'compose.yaml: x-deploy.accessories.redis: "redis" is also a role',
    ),
    (
        "no roles",
        "x-deploy: {accessories: {redis: {}}}",
        "compose.yaml: x-deploy.roles: no roles",
    ),
    (
        "no x-deploy block",
        "",
        "compose.yaml: no x-deploy block: add one naming the roles to deploy",
    ),
]


@pytest.mark.parametrize(("case", "block", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_app_definition_is_one_line_naming_key_and_value(
    tmp_path: Path, case: str, block: str, message: str
) -> None:
    with pytest.raises(ComposeError) as refused:
        app_from(tmp_path, block, hosts=("a", "b"))

    assert str(refused.value).startswith(message), str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_secret_file_that_is_missing_is_named_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        SERVICES
        + "secrets: {SECRET_KEY: {file: ./secrets/SECRET_KEY}}\n"
        + "x-deploy: {roles: {worker: {}}}\n"
    )
    with pytest.raises(ComposeError) as refused:
        load_app(tmp_path / "compose.yaml", {})

    assert str(refused.value).startswith(
        "compose.yaml: secrets.SECRET_KEY.file: secret SECRET_KEY is missing: no file"
        ' "./secrets/SECRET_KEY"'
    )


def test_a_service_naming_an_undeclared_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {web: {image: app, secrets: [API_TOKEN]}}\n")
    with pytest.raises(ComposeError, match=r"services\.web\.secrets\[0\]: undeclared secret"):
        load_app(tmp_path / "compose.yaml", {})


def test_a_malformed_secrets_file_line_is_named_without_its_value(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("SECRET_KEY=ok\nGALLERY_API_TOKEN s3cr3t-value\n")
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_SECRETS_FILE": str(secrets_file)}
    )

    with pytest.raises(StackError) as refused:
        release_environment(settings, environ={})

    message = str(refused.value)
    assert message.startswith(f'{secrets_file}: line 2: cannot parse the line of key "GALLERY_API')
    assert "s3cr3t" not in message


def test_a_secret_given_nowhere_is_refused_naming_it(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("SECRET_KEY=k\nOSS_ACCESS_KEY_ID=i\nOSS_ACCESS_KEY_SECRET=s\n")
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_SECRETS_FILE": str(secrets_file)}
    )
    app = load_app(ROOT / "compose.yaml", {})

    with pytest.raises(DeployFailed) as refused:
        check_secrets(settings, app, release_environment(settings, environ={}))

    assert str(refused.value).startswith(
        f"secret GALLERY_API_TOKEN is missing: put it in {secrets_file}"
    )


def test_a_secret_given_as_a_compose_file_counts(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k")
    (tmp_path / "compose.yaml").write_text(
        "secrets: {SECRET_KEY: {file: ./key}}\n"
        "services: {worker: {image: app, secrets: [SECRET_KEY],"
        " environment: {SECRET_KEY: '', OTHER: x}}}\n"
        "x-deploy: {roles: {worker: {}}}\n"
    )
    settings = load_deploy_settings(
        tmp_path, environ={"DEPLOY_HOSTS": "a", "DEPLOY_SECRET_NAMES": "SECRET_KEY"}
    )
    app = load_app(tmp_path / "compose.yaml", {})

    check_secrets(settings, app, {})


@pytest.mark.parametrize(
    ("key", "service_yaml", "shown"),
    [
        ("networks", "networks: [back]", '"back"'),
        ("network_mode", "network_mode: host", '"host"'),
        ("container_name", "container_name: the-worker", '"the-worker"'),
    ],
)
def test_a_compose_key_a_deployed_container_cannot_honour_is_refused_naming_it(
    tmp_path: Path, key: str, service_yaml: str, shown: str
) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  worker:\n    image: app\n    "
        + service_yaml
        + "\nnetworks: {back: {}}\nx-deploy: {roles: {worker: {}}}\n"
    )

    with pytest.raises(ComposeError) as refused:
        load_app(tmp_path / "compose.yaml", {})

    message = str(refused.value)
    assert message.startswith(
        f"compose.yaml: x-deploy.roles.worker: services.worker.{key}: {shown}"
    )
    assert "remove the key for deploy" in message
    assert "\n" not in message


def test_replicas_on_a_host_deploy_are_refused_pointing_at_hosts_or_swarm(tmp_path: Path) -> None:
    from stackctl.deploy.release import check_one_container_per_host

    (tmp_path / "compose.yaml").write_text(
        "services:\n  worker:\n    image: app\n    deploy: {replicas: 3}\n"
        "x-deploy: {roles: {worker: {}}}\n"
    )
    app = load_app(tmp_path / "compose.yaml", {})

    with pytest.raises(DeployFailed) as refused:
        check_one_container_per_host(app)

    assert str(refused.value) == (
        "compose.yaml: services.worker.deploy.replicas: 3: invoke deploy runs one worker"
        " container per host: add hosts to DEPLOY_HOSTS (or the role's hosts), or deploy to a"
        " Swarm (--target swarm)"
    )
