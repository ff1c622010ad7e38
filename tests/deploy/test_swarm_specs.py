"""The app definition as Swarm service specs, and the Swarm settings: no engine needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.secrets import Secret
from stackctl.deploy.swarm.secrets import secret_references
from stackctl.deploy.swarm.settings import load_swarm_settings
from stackctl.deploy.swarm.specs import Inputs, changes, normal, service_specs
from stackctl.deploy.swarm.tls import SwarmTls
from stackctl.deploy.targets import deploy_target
from stackctl.errors import SettingsError
from support.deploy_hosts import ROOT, TEST_OVERRIDE

APP = "specs"
HOSTS = ("root@10.0.0.1", "root@10.0.0.2:2222", "10.0.0.3")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> AppDefinition:
    folder = tmp_path_factory.mktemp("swarm-specs")
    (folder / "SECRET_KEY").write_text("s3cret-value\n")
    return load_app(
        ROOT / "compose.yaml",
        {"COMPOSE_PROJECT_NAME": APP, "DEPLOY_TEST_SECRETS_DIR": str(folder)},
        project_name=APP,
        overrides=[TEST_OVERRIDE],
    )


def specs_for(app: AppDefinition, **settings: str) -> dict[str, dict]:  # type: ignore[type-arg]
    swarm = load_swarm_settings(HOSTS, environ=settings)
    secret = Secret("SECRET_KEY", b"s3cret-value", None, None, 0o400)
    refs = secret_references(APP, [secret], {}, ("10001", "10001"))
    inputs = Inputs(
        app=APP,
        version="v7",
        http_port=80,
        images={s: f"{APP}/{s}:v7" for s in app.services},
        environment={"FLASK_CONFIG": "production"},
        secrets={"web": refs, "worker": refs},
        nodes=3,
    )
    return service_specs(app, inputs, swarm)


def test_web_is_replicated_per_node_dnsrr_health_checked_and_rolls_back(
    app: AppDefinition,
) -> None:
    web = specs_for(app)["web"]
    container = web["TaskTemplate"]["ContainerSpec"]
    assert web["Name"] == f"{APP}_web"
    assert web["Mode"] == {"Replicated": {"Replicas": 3}}
    assert web["EndpointSpec"] == {"Mode": "dnsrr"}
    assert web["UpdateConfig"]["Order"] == "start-first"
    assert web["UpdateConfig"]["FailureAction"] == "rollback"
    assert web["RollbackConfig"]["Order"] == "start-first"
    assert container["Healthcheck"]["Test"][0] == "CMD"
    assert container["Healthcheck"]["Interval"] == 5_000_000_000  # compose.yaml's 5s
    assert web["TaskTemplate"]["Networks"][0]["Aliases"] == ["web"]


def test_secrets_are_files_never_environment_or_labels(app: AppDefinition) -> None:
    for name in ("web", "worker"):
        spec = specs_for(app)[name]
        container = spec["TaskTemplate"]["ContainerSpec"]
        assert not any(e.startswith("SECRET_KEY=") for e in container["Env"])
        assert "FLASK_CONFIG=production" in container["Env"]
        assert container["Secrets"][0]["File"] == {
            "Name": "SECRET_KEY",
            "UID": "10001",
            "GID": "10001",
            "Mode": 0o400,
        }
        assert "s3cret-value" not in str(spec)


def test_worker_keeps_its_stop_signal_and_updates_stop_first(app: AppDefinition) -> None:
    worker = specs_for(app, DEPLOY_SWARM_REPLICAS="worker=2")["worker"]
    container = worker["TaskTemplate"]["ContainerSpec"]
    assert worker["Mode"] == {"Replicated": {"Replicas": 2}}
    assert container["StopSignal"] == "SIGQUIT"
    assert container["StopGracePeriod"] == 10_000_000_000
    assert container["Args"][0] == "celery"
    assert worker["UpdateConfig"]["Order"] == "stop-first"


def test_redis_is_pinned_by_a_node_label_with_its_named_volume(app: AppDefinition) -> None:
    redis = specs_for(app)["redis"]
    assert redis["Mode"] == {"Replicated": {"Replicas": 1}}
    assert redis["TaskTemplate"]["Placement"]["Constraints"] == [
        f"node.labels.org.aliecs.{APP}.redis==true"
    ]
    assert redis["TaskTemplate"]["ContainerSpec"]["Mounts"] == [
        {"Type": "volume", "Source": f"{APP}_redis-data", "Target": "/data", "ReadOnly": False}
    ]


def test_the_proxy_is_global_on_host_mode_port_80_following_tasks_of_web(
    app: AppDefinition,
) -> None:
    nginx = specs_for(app)["nginx"]
    assert nginx["Mode"] == {"Global": {}}
    assert nginx["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 80, "PublishMode": "host"}
    ]
    env = nginx["TaskTemplate"]["ContainerSpec"]["Env"]
    assert f"NGINX_UPSTREAM=tasks.{APP}_web:8000" in env
    assert "UPSTREAM_RECHECK_SECONDS=1" in env


def files_specs(app: AppDefinition, key: bytes) -> dict[str, dict]:  # type: ignore[type-arg]
    swarm = load_swarm_settings(HOSTS, environ={})
    chain = Secret("tls_cert", b"-----BEGIN CERTIFICATE-----", None, None, 0o444)
    given = Secret("tls_key", key, None, None, 0o400)
    refs = secret_references(APP, [chain, given], {}, ("0", "0"))
    inputs = tls_inputs(app, SwarmTls("files", ("www.example.com",), tuple(refs)))
    return service_specs(app, inputs, swarm)


def tls_inputs(app: AppDefinition, tls: SwarmTls) -> Inputs:
    """The specs' inputs in a TLS-terminating mode: 443 published on 8443, no role secrets."""
    return Inputs(
        app=APP,
        version="v7",
        http_port=80,
        images={s: f"{APP}/{s}:v7" for s in app.services},
        environment={},
        secrets={},
        nodes=3,
        https_port=8443,
        tls=tls,
    )


def test_a_given_certificate_is_certsync_s_secrets_and_the_proxy_reads_the_node_s_copy(
    app: AppDefinition,
) -> None:
    specs = files_specs(app, b"-----BEGIN PRIVATE KEY-----")
    nginx = specs["nginx"]
    assert nginx["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 80, "PublishMode": "host"},
        {"Protocol": "tcp", "TargetPort": 443, "PublishedPort": 8443, "PublishMode": "host"},
    ]
    assert nginx["TaskTemplate"]["ContainerSpec"]["Secrets"] == []
    assert env_of(nginx)["TLS_CERT_FILE"] == "/etc/nginx/tls/current/fullchain.pem"
    assert "ACME_CHALLENGE_UPSTREAM" not in env_of(nginx)
    certsync = specs["certsync"]
    container = certsync["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == f"{APP}/nginx:v7"  # the proxy's image: no certbot in files
    assert container["Healthcheck"] == {"Test": ["NONE"]}
    assert [s["File"]["Name"] for s in container["Secrets"]] == ["tls_cert", "tls_key"]
    assert "CERT_SECRET=tls_cert" in container["Env"]
    assert "PRIVATE KEY" not in str(specs)
    # A changed certificate changes certsync's fingerprint (a rolling update of certsync only).
    changed = files_specs(app, b"-----BEGIN PRIVATE KEY----- another")
    assert changed["certsync"]["Labels"] != certsync["Labels"]
    assert changed["nginx"]["Labels"] == nginx["Labels"]


def acme_specs(folder: Path, carried: tuple[dict, ...] = ()) -> dict[str, dict]:  # type: ignore[type-arg]
    from stackctl.deploy.httpsmode import app_overrides
    from stackctl.tls.settings import HttpsSettings

    https = HttpsSettings(mode="acme", hosts=("www.example.com",))
    (folder / "SECRET_KEY").write_text("s3cret-value\n")
    files, values = app_overrides(https, ROOT)
    acme_app = load_app(
        ROOT / "compose.yaml",
        {"COMPOSE_PROJECT_NAME": APP, "DEPLOY_TEST_SECRETS_DIR": str(folder), **values},
        project_name=APP,
        overrides=[TEST_OVERRIDE, *files],
    )
    inputs = tls_inputs(acme_app, SwarmTls("acme", ("www.example.com",), carried))
    return service_specs(acme_app, inputs, load_swarm_settings(HOSTS, environ={}))


def env_of(spec: dict) -> dict[str, str]:  # type: ignore[type-arg]
    lines = spec["TaskTemplate"]["ContainerSpec"]["Env"]
    return dict(line.split("=", 1) for line in lines)


def test_acme_on_a_swarm_is_one_certbot_on_a_manager_behind_every_node_s_proxy(
    tmp_path: Path,
) -> None:
    specs = acme_specs(tmp_path)
    assert next(iter(specs)) == "certsync"  # created before certbot, which hands it certificates
    certbot = specs["certbot"]
    assert certbot["Mode"] == {"Replicated": {"Replicas": 1}}
    assert "node.role==manager" in certbot["TaskTemplate"]["Placement"]["Constraints"]
    mounts = certbot["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert {"Type": "bind", "Source": "/var/run/docker.sock", "Target": "/var/run/docker.sock"} in (
        mounts
    )
    assert {m["Source"] for m in mounts if m["Type"] == "volume"} >= {f"{APP}_letsencrypt"}
    env = env_of(certbot)
    assert env["HTTPS_HOSTS"] == "www.example.com"
    assert env["ACME_SWARM_APP"] == APP
    assert env["ACME_SWARM_SERVICE"] == f"{APP}_certsync"
    assert env["ACME_PROXY"] == "nginx:80"
    assert env["ACME_PROXIES"] == "3"  # every node's proxy answers before an order

    nginx = specs["nginx"]
    assert nginx["Mode"] == {"Global": {}}
    env = env_of(nginx)
    assert env["ACME_CHALLENGE_UPSTREAM"] == "certbot:80"
    assert env["TLS_CERT_FILE"] == "/etc/nginx/tls/current/fullchain.pem"
    mounts = nginx["TaskTemplate"]["ContainerSpec"]["Mounts"]
    # certbot's volumes are on its node only: the proxy reads the node's `tls` volume.
    assert mounts == [
        {"Type": "volume", "Source": f"{APP}_tls", "Target": "/etc/nginx/tls", "ReadOnly": True}
    ]
    assert [p["TargetPort"] for p in nginx["EndpointSpec"]["Ports"]] == [80, 443]

    certsync = specs["certsync"]
    assert certsync["Mode"] == {"Global": {}}
    container = certsync["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == f"{APP}/nginx:v7"
    assert "CERT_SECRET=fullchain.pem" in container["Env"]
    assert container["Mounts"] == [
        {"Type": "volume", "Source": f"{APP}_tls", "Target": "/certificate", "ReadOnly": False}
    ]
    assert container["Secrets"] == []


def test_certsync_keeps_the_certificate_certbot_gave_it_and_a_renewal_is_no_change(
    tmp_path: Path,
) -> None:
    given = (
        {
            "SecretID": "abc",
            "SecretName": f"{APP}_tls_fullchain_0123456789ab",
            "File": {"Name": "fullchain.pem", "UID": "0", "GID": "0", "Mode": 0o444},
        },
    )
    before, after = acme_specs(tmp_path), acme_specs(tmp_path, given)
    assert after["certsync"]["TaskTemplate"]["ContainerSpec"]["Secrets"] == [dict(given[0])]
    # The fingerprint leaves certbot's secrets out: a deploy after a renewal leaves it alone.
    for service in before:
        assert before[service]["Labels"] == after[service]["Labels"], service


def test_a_changed_image_is_the_one_change_shown(app: AppDefinition) -> None:
    before = specs_for(app)["web"]
    after = specs_for(app)["web"]
    assert changes(normal(before), after) == []
    after["TaskTemplate"]["ContainerSpec"]["Image"] = f"{APP}/web:v8"
    assert changes(before, after) == [
        f"TaskTemplate.ContainerSpec.Image: {APP}/web:v7 -> {APP}/web:v8"
    ]


def test_secret_versions_differ_by_content_and_hide_it() -> None:
    one = Secret("SECRET_KEY", b"a", None, None, 0o400).object_name(APP)
    two = Secret("SECRET_KEY", b"b", None, None, 0o400).object_name(APP)
    assert one != two
    assert one.startswith(f"{APP}_SECRET_KEY_")
    assert one == Secret("SECRET_KEY", b"a", None, None, 0o400).object_name(APP)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DEPLOY_SWARM_REPLICAS", "web", "is not SERVICE=COUNT"),
        ("DEPLOY_SWARM_LABELS", "root@10.0.0.9:zone=a", "is not in DEPLOY_HOSTS"),
        ("DEPLOY_SWARM_LABELS", "root@10.0.0.1", "is not HOST:key=value"),
        ("DEPLOY_SWARM_MANAGERS", "0", "at least 1"),
        ("DEPLOY_SWARM_MONITOR", "soon", "number of seconds"),
    ],
)
def test_bad_swarm_settings_are_one_line_naming_the_setting(
    name: str, value: str, fragment: str
) -> None:
    with pytest.raises(SettingsError) as failed:
        load_swarm_settings(HOSTS, environ={name: value})
    assert name in str(failed.value)
    assert fragment in str(failed.value)
    assert "\n" not in str(failed.value)


def test_labels_per_host_and_the_target() -> None:
    swarm = load_swarm_settings(
        HOSTS,
        environ={"DEPLOY_SWARM_LABELS": "root@10.0.0.2:2222:zone=b,disk=ssd; 10.0.0.3:zone=c"},
    )
    assert swarm.labels == {
        "root@10.0.0.2:2222": {"zone": "b", "disk": "ssd"},
        "10.0.0.3": {"zone": "c"},
    }
    assert deploy_target(None, {}, {}) == "hosts"
    assert deploy_target(None, {"DEPLOY_TARGET": "swarm"}, {}) == "swarm"
    with pytest.raises(SettingsError, match="deploy target 'k8s' is unknown"):
        deploy_target("k8s", {}, {})


def test_a_missing_secret_stops_the_deploy_before_any_host_is_contacted(
    app: AppDefinition,
) -> None:
    from rich.console import Console

    from stackctl.deploy.errors import DeployFailed
    from stackctl.deploy.release import ReleaseImages, SourceVersion
    from stackctl.deploy.settings import load_deploy_settings
    from stackctl.deploy.swarm.run import deploy

    # Port 9 on loopback: nothing answers there, and nothing may be tried before the check.
    settings = load_deploy_settings(
        ROOT,
        environ={"DEPLOY_HOSTS": "root@127.0.0.1:9", "DEPLOY_SECRET_NAMES": "SECRET_KEY NOPE"},
    )
    images = ReleaseImages(SourceVersion("v1", dirty=False), "v1", {}, {}, None, {})
    swarm = load_swarm_settings(HOSTS, environ={})
    with pytest.raises(DeployFailed) as failed:
        deploy(None, settings, swarm, app, images, {}, Console(quiet=True))
    assert str(failed.value).startswith("secret NOPE is missing")
    assert "nothing was started" in str(failed.value)


class _Node:
    def __init__(self, node_id: str, hostname: str, state: str = "ready") -> None:
        self.id = node_id
        self.attrs = {
            "Description": {"Hostname": hostname},
            "Status": {"State": state},
            "Spec": {"Availability": "active", "Role": "worker"},
        }


class _Nodes:
    def __init__(self, nodes: list[_Node]) -> None:
        self._nodes = nodes

    def list(self) -> list[_Node]:
        return self._nodes


class _Manager:
    def __init__(self, nodes: list[_Node]) -> None:
        self.nodes = _Nodes(nodes)


def test_a_ready_node_outside_deploy_hosts_stops_the_deploy_with_its_name() -> None:
    from stackctl.deploy.errors import DeployFailed
    from stackctl.deploy.settings import HostAddress
    from stackctl.deploy.swarm.nodes import Swarm
    from stackctl.deploy.swarm.run import _check_nodes

    ours = HostAddress("10.0.0.1", 22, "root")
    nodes = [_Node("a" * 25, "ecs-1"), _Node("b" * 25, "ecs-9"), _Node("c" * 25, "gone", "down")]
    swarm = Swarm(clients={}, node_ids={ours: "a" * 25}, manager=_Manager(nodes))
    with pytest.raises(DeployFailed) as failed:
        _check_nodes(swarm)
    assert "swarm node ecs-9" in str(failed.value)
    assert "not in DEPLOY_HOSTS" in str(failed.value)
    assert "gone" not in str(failed.value)


def test_service_secrets_are_the_compose_files_then_the_values_they_do_not_cover(
    tmp_path: Path,
) -> None:
    from stackctl.deploy.appdef import load_app
    from stackctl.deploy.secrets import service_secrets

    (tmp_path / "key.txt").write_text("from-the-file\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: app\n"
        "    secrets: [{source: key, target: SECRET_KEY, mode: 0440}]\n"
        "secrets: {key: {file: ./key.txt}}\n"
        "x-deploy: {roles: {web: {}}}\n"
    )
    app = load_app(tmp_path / "compose.yaml", {})

    found = service_secrets(
        app.project, app.spec("web"), {"SECRET_KEY": "ignored", "API_TOKEN": "t0ken"}
    )

    assert [(s.file_name, s.content, s.mode) for s in found] == [
        ("SECRET_KEY", b"from-the-file\n", 0o440),
        ("API_TOKEN", b"t0ken", 0o400),
    ]


def test_a_role_never_gets_the_names_its_credential_mode_does_not_use(
    app: AppDefinition,
) -> None:
    swarm = load_swarm_settings(HOSTS, environ={})
    inputs = Inputs(
        app=APP,
        version="v7",
        http_port=80,
        images={s: f"{APP}/{s}:v7" for s in app.services},
        environment={"FLASK_CONFIG": "production"},
        secrets={},
        nodes=3,
        leave_out=("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"),
    )
    for name in ("web", "worker"):
        env = service_specs(app, inputs, swarm)[name]["TaskTemplate"]["ContainerSpec"]["Env"]
        assert not [e for e in env if e.startswith("OSS_ACCESS_KEY_")]
        assert any(e.startswith("OSS_CREDENTIALS=") for e in env)
