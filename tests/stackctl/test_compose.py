"""compose.yaml parsing: every supported form, read into the typed model."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from stackctl.compose import (
    SERVICE_KEYS,
    BuildSpec,
    DependsOn,
    HealthcheckSpec,
    MountSpec,
    PortSpec,
    Project,
    ResourceSpec,
    ServiceNetwork,
    ServiceSpec,
    VolumeSpec,
    load_project,
)
from stackctl.stack.workspace import load_workspace

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    project.mkdir()
    return project


def load(
    root: Path,
    compose: str,
    environ: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    **options: object,
) -> Project:
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "compose.yaml").write_text(textwrap.dedent(compose))
    return load_project(root / "compose.yaml", environ or {}, **options)  # type: ignore[arg-type]


def service(root: Path, definition: str, **kwargs: object) -> ServiceSpec:
    body = textwrap.indent(textwrap.dedent(definition), "    ")
    compose = f"services:\n  web:\n{body}\nvolumes:\n  data:\n"
    return load(root, compose, **kwargs).services["web"]  # type: ignore[arg-type]


def test_image_service_gets_the_defaults(root: Path) -> None:
    assert service(root, "image: redis:7") == ServiceSpec(name="web", image="redis:7")


def test_default_restart_policy_is_no(root: Path) -> None:
    assert service(root, "image: redis:7").restart == "no"


def test_project_knows_its_file_and_directory(root: Path) -> None:
    project = load(root, "services: {web: {image: nginx}}")

    assert project.compose_file == root / "compose.yaml"
    assert project.project_dir == root


def test_relative_compose_file_gives_absolute_paths(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "compose.yaml").write_text("services: {web: {image: nginx}}\n")
    monkeypatch.chdir(root.parent)

    project = load_project(Path("shop/compose.yaml"), {})

    assert project.compose_file == root / "compose.yaml"
    assert project.project_dir == root


def test_project_name_defaults_to_the_folder_name(tmp_path: Path) -> None:
    folder = tmp_path / "My Shop.v2"
    folder.mkdir()

    assert load(folder, "services: {web: {image: nginx}}").name == "myshopv2"


def test_project_name_comes_from_the_top_level_name(root: Path) -> None:
    assert load(root, "name: gallery\nservices: {web: {image: nginx}}").name == "gallery"


def test_project_name_argument_wins_over_the_top_level_name(root: Path) -> None:
    project = load(root, "name: gallery\nservices: {web: {image: nginx}}", project_name="ci-42")

    assert project.name == "ci-42"


def test_build_string_is_the_context_relative_to_the_compose_file(root: Path) -> None:
    spec = service(root, "build: ./app", files={"app/Dockerfile": "FROM scratch\n"})

    assert spec.build == BuildSpec(context=root / "app")
    assert spec.build.dockerfile == "Dockerfile"


def test_build_mapping_reads_dockerfile_args_and_target(root: Path) -> None:
    spec = service(
        root,
        """
        build:
          context: app
          dockerfile: docker/Dockerfile.prod
          args: {PYTHON: "3.11", WORKERS: 4}
          target: runtime
        """,
        files={"app/docker/Dockerfile.prod": "FROM scratch\n"},
    )

    assert spec.build == BuildSpec(
        context=root / "app",
        dockerfile="docker/Dockerfile.prod",
        args={"PYTHON": "3.11", "WORKERS": "4"},
        target="runtime",
    )


def test_build_args_list_takes_a_bare_key_from_the_environment(root: Path) -> None:
    spec = service(
        root,
        "build: {context: ., args: [MODE=prod, PIP_INDEX_URL, UNSET]}",
        environ={"PIP_INDEX_URL": "https://mirror/simple"},
        files={"Dockerfile": "FROM scratch\n"},
    )

    assert spec.build is not None
    assert spec.build.args == {"MODE": "prod", "PIP_INDEX_URL": "https://mirror/simple"}


def test_command_string_is_split_like_a_shell(root: Path) -> None:
    spec = service(root, """image: app\ncommand: gunicorn -b 0.0.0.0:8000 'app:create_app()'""")

    assert spec.command == ["gunicorn", "-b", "0.0.0.0:8000", "app:create_app()"]


def test_command_list_is_kept_and_numbers_become_strings(root: Path) -> None:
    spec = service(root, "image: app\ncommand: [sleep, 5]")

    assert spec.command == ["sleep", "5"]


def test_entrypoint_reads_like_command(root: Path) -> None:
    assert service(root, "image: app\nentrypoint: /bin/sh -c").entrypoint == ["/bin/sh", "-c"]


def test_environment_mapping_values_become_strings(root: Path) -> None:
    spec = service(root, "image: app\nenvironment: {PORT: 8000, DEBUG: false, RATIO: 0.5}")

    assert spec.environment == {"PORT": "8000", "DEBUG": "false", "RATIO": "0.5"}


def test_environment_list_splits_on_the_first_equals_sign(root: Path) -> None:
    spec = service(root, "image: app\nenvironment: ['URL=redis://r/0?a=b', EMPTY=]")

    assert spec.environment == {"URL": "redis://r/0?a=b", "EMPTY": ""}


def test_environment_bare_key_takes_the_value_from_the_environment(root: Path) -> None:
    spec = service(root, "image: app\nenvironment: [SECRET_KEY]", environ={"SECRET_KEY": "s3"})

    assert spec.environment == {"SECRET_KEY": "s3"}


def test_environment_null_value_takes_the_value_from_dotenv(root: Path) -> None:
    spec = service(
        root, "image: app\nenvironment: {SECRET_KEY: }", files={".env": "SECRET_KEY=d\n"}
    )

    assert spec.environment == {"SECRET_KEY": "d"}


def test_environment_bare_key_without_a_value_is_left_out(root: Path) -> None:
    assert service(root, "image: app\nenvironment: [NOWHERE]").environment == {}


def test_env_file_is_merged_under_environment(root: Path) -> None:
    spec = service(
        root,
        "image: app\nenv_file: app.env\nenvironment: {LEVEL: debug}",
        files={"app.env": "LEVEL=info\nNAME=gallery\n"},
    )

    assert spec.environment == {"LEVEL": "debug", "NAME": "gallery"}


def test_later_env_files_override_earlier_ones(root: Path) -> None:
    spec = service(
        root,
        "image: app\nenv_file: [base.env, config/local.env]",
        files={"base.env": "A=1\nB=1\n", "config/local.env": "B=2\n"},
    )

    assert spec.environment == {"A": "1", "B": "2"}


def test_env_file_values_are_interpolated_as_compose_v2(root: Path) -> None:
    # `docker compose config` 2.26 gives these values for this file and .env.
    (root / ".env").write_text("HOST=db\n")
    spec = service(
        root,
        "image: app\nenv_file: app.env",
        files={"app.env": "PRICE=$5 ${NOT_EXPANDED}\nB=${HOST}x\nC=${B}y\nD='${HOST}'\n"},
    )

    assert spec.environment == {"PRICE": "$5 ", "B": "dbx", "C": "dbxy", "D": "${HOST}"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param('"80"', PortSpec(target=80), id="target-only"),
        pytest.param("80", PortSpec(target=80), id="yaml-integer"),
        pytest.param("8080:80", PortSpec(published=8080, target=80), id="published-target"),
        pytest.param(
            "127.0.0.1:8080:80",
            PortSpec(host_ip="127.0.0.1", published=8080, target=80),
            id="host-ip",
        ),
        pytest.param(
            "127.0.0.1:8080:80/udp",
            PortSpec(host_ip="127.0.0.1", published=8080, target=80, protocol="udp"),
            id="protocol",
        ),
        pytest.param("127.0.0.1::80", PortSpec(host_ip="127.0.0.1", target=80), id="no-published"),
        pytest.param(
            '"[::1]:8080:80"', PortSpec(host_ip="::1", published=8080, target=80), id="ipv6"
        ),
        pytest.param(
            "{target: 80, published: '8080', host_ip: 127.0.0.1, protocol: tcp}",
            PortSpec(host_ip="127.0.0.1", published=8080, target=80),
            id="long-syntax",
        ),
        pytest.param("{target: 80}", PortSpec(target=80), id="long-syntax-target-only"),
    ],
)
def test_port_forms(root: Path, entry: str, expected: PortSpec) -> None:
    assert service(root, f"image: app\nports:\n  - {entry}").ports == [expected]


def test_short_port_is_not_read_as_a_base_60_number(root: Path) -> None:
    spec = service(root, "image: app\nports:\n  - 22:22")

    assert spec.ports == [PortSpec(published=22, target=22)]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            "data:/srv", MountSpec(type="volume", source="data", target="/srv"), id="named"
        ),
        pytest.param(
            "data:/data:ro",
            MountSpec(type="volume", source="data", target="/data", read_only=True),
            id="named-ro",
        ),
        pytest.param(
            "/srv/media:/media",
            MountSpec(type="bind", source="/srv/media", target="/media"),
            id="absolute-bind",
        ),
        pytest.param(
            "{type: volume, source: data, target: /data, read_only: true}",
            MountSpec(type="volume", source="data", target="/data", read_only=True),
            id="long-volume",
        ),
    ],
)
def test_volume_forms(root: Path, entry: str, expected: MountSpec) -> None:
    assert service(root, f"image: app\nvolumes:\n  - {entry}").volumes == [expected]


def test_relative_bind_source_is_resolved_against_the_compose_file(root: Path) -> None:
    spec = service(root, "image: app\nvolumes: ['./src/../static:/app/static:ro']")

    assert spec.volumes == [
        MountSpec(type="bind", source=str(root / "static"), target="/app/static", read_only=True)
    ]


def test_long_bind_source_is_resolved_against_the_compose_file(root: Path) -> None:
    spec = service(root, "image: app\nvolumes: [{type: bind, source: ./src, target: /src}]")

    assert spec.volumes == [MountSpec(type="bind", source=str(root / "src"), target="/src")]


def test_bind_source_under_home_uses_the_environment_home(root: Path) -> None:
    spec = service(root, "image: app\nvolumes: ['~/.cache:/cache']", environ={"HOME": "/home/ci"})

    assert spec.volumes[0].source == "/home/ci/.cache"


def test_top_level_volumes_read_driver_and_labels(root: Path) -> None:
    project = load(
        root,
        """
        services: {web: {image: app}}
        volumes:
          data:
          media: {driver: local, labels: {backup: daily, keep: 7}}
        """,
    )

    assert project.volumes == {
        "data": VolumeSpec(name="data"),
        "media": VolumeSpec(name="media", labels={"backup": "daily", "keep": "7"}),
    }


def test_depends_on_list_means_service_started(root: Path) -> None:
    project = load(root, "services: {db: {image: pg}, web: {image: app, depends_on: [db]}}")

    assert project.services["web"].depends_on == {"db": DependsOn(condition="service_started")}


@pytest.mark.parametrize(
    "condition", ["service_started", "service_healthy", "service_completed_successfully"]
)
def test_depends_on_mapping_reads_the_condition(root: Path, condition: str) -> None:
    project = load(
        root,
        f"""
        services:
          db: {{image: pg, healthcheck: {{test: pg_isready}}}}
          web: {{image: app, depends_on: {{db: {{condition: {condition}}}}}}}
        """,
    )

    assert project.services["web"].depends_on["db"].condition == condition


def test_healthcheck_string_test_runs_in_a_shell(root: Path) -> None:
    spec = service(root, "image: app\nhealthcheck: {test: curl -f http://localhost/}")

    assert spec.healthcheck == HealthcheckSpec(test=["CMD-SHELL", "curl -f http://localhost/"])


def test_healthcheck_reads_durations_as_seconds(root: Path) -> None:
    spec = service(
        root,
        """
        image: app
        healthcheck:
          test: [CMD, redis-cli, ping]
          interval: 1m30s
          timeout: 500ms
          start_period: 5s
          retries: 5
        """,
    )

    assert spec.healthcheck == HealthcheckSpec(
        test=["CMD", "redis-cli", "ping"], interval=90, timeout=0.5, start_period=5, retries=5
    )


def test_healthcheck_defaults_are_dockers(root: Path) -> None:
    spec = service(root, "image: app\nhealthcheck: {test: [CMD, 'true']}")

    assert spec.healthcheck is not None
    assert (spec.healthcheck.interval, spec.healthcheck.timeout) == (30, 30)
    assert (spec.healthcheck.start_period, spec.healthcheck.retries) == (0, 3)


def test_healthcheck_disable_becomes_test_none(root: Path) -> None:
    spec = service(root, "image: app\nhealthcheck: {disable: true}")

    assert spec.healthcheck is not None
    assert spec.healthcheck.test == ["NONE"]
    assert spec.healthcheck.disabled


def test_healthcheck_without_test_keeps_the_images_test(root: Path) -> None:
    spec = service(root, "image: app\nhealthcheck: {interval: 5s}")

    assert spec.healthcheck == HealthcheckSpec(test=[], interval=5)


@pytest.mark.parametrize(
    "policy", ["no", '"no"', "always", "on-failure", "on-failure:3", "unless-stopped"]
)
def test_restart_policies(root: Path, policy: str) -> None:
    assert service(root, f"image: app\nrestart: {policy}").restart == policy.strip('"')


def test_labels_mapping(root: Path) -> None:
    spec = service(root, "image: app\nlabels: {com.example.tier: web, com.example.rank: 1}")

    assert spec.labels == {"com.example.tier": "web", "com.example.rank": "1"}


def test_labels_list_with_a_bare_key_is_an_empty_label(root: Path) -> None:
    assert service(root, "image: app\nlabels: [tier=web, canary]").labels == {
        "tier": "web",
        "canary": "",
    }


def test_scalar_service_settings(root: Path) -> None:
    spec = service(
        root,
        """
        image: app
        init: true
        stop_grace_period: 1m
        working_dir: /app
        user: 1000
        stop_signal: SIGINT
        """,
    )

    assert (spec.init, spec.stop_grace_period) == (True, 60)
    assert (spec.working_dir, spec.user, spec.stop_signal) == ("/app", "1000", "SIGINT")


def test_interpolation_takes_variables_from_dotenv(root: Path) -> None:
    spec = service(root, "image: gallery:${TAG}", files={".env": "TAG=1.2\n"})

    assert spec.image == "gallery:1.2"


def test_interpolation_prefers_the_environment_over_dotenv(root: Path) -> None:
    spec = service(root, "image: gallery:${TAG}", environ={"TAG": "2.0"}, files={".env": "TAG=1\n"})

    assert spec.image == "gallery:2.0"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("$TAG", "1", id="bare"),
        pytest.param("${MISSING:-latest}", "latest", id="default-if-unset"),
        pytest.param("${EMPTY:-latest}", "latest", id="default-if-empty"),
        pytest.param("${EMPTY-latest}", "", id="default-only-if-unset"),
        pytest.param("${TAG:?set TAG}", "1", id="required-and-set"),
        pytest.param("$$TAG", "$TAG", id="escaped"),
    ],
)
def test_interpolation_forms(root: Path, template: str, expected: str) -> None:
    spec = service(
        root, f"image: app\nlabels: {{v: '{template}'}}", environ={"TAG": "1", "EMPTY": ""}
    )

    assert spec.labels["v"] == expected


def test_unset_variable_becomes_empty_and_is_logged(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stackctl.compose"):
        spec = service(root, "image: app\nenvironment: {URL: 'redis://${REDIS_HOST}/0'}")

    assert spec.environment == {"URL": "redis:///0"}
    assert '"REDIS_HOST" variable is not set' in caplog.text


def test_interpolation_leaves_keys_alone(root: Path) -> None:
    spec = service(root, "image: app\nlabels: {'$KEY': v}", environ={"KEY": "k"})

    assert spec.labels == {"$KEY": "v"}


def test_extension_fields_are_ignored_and_usable_as_anchors(root: Path) -> None:
    project = load(
        root,
        """
        x-defaults: &defaults
          restart: always
          init: true
        services:
          web:
            <<: *defaults
            image: app
            x-note: not for stackctl
        """,
    )

    assert project.services["web"].restart == "always"
    assert project.services["web"].init is True


def test_extension_fields_are_not_interpolated(root: Path) -> None:
    project = load(root, "x-unused: ${NEVER:?not needed}\nservices: {web: {image: app}}")

    assert list(project.services) == ["web"]


def test_default_network_may_be_listed(root: Path) -> None:
    assert load(root, "services: {web: {image: app}}\nnetworks: {default: }").services


def test_services_with_an_inactive_profile_are_left_out(root: Path) -> None:
    project = load(root, "services: {web: {image: app}, debug: {image: busybox, profiles: [dev]}}")

    assert list(project.services) == ["web"]


def test_services_with_an_active_profile_are_kept(root: Path) -> None:
    project = load(
        root,
        "services: {web: {image: app}, debug: {image: busybox, profiles: [dev, ci]}}",
        profiles=["ci"],
    )

    assert list(project.services) == ["web", "debug"]
    assert project.services["debug"].profiles == ["dev", "ci"]


def test_start_order_puts_dependencies_first_and_ties_by_name(root: Path) -> None:
    project = load(
        root,
        """
        services:
          web: {image: app, depends_on: [worker, redis]}
          worker: {image: app, depends_on: [redis, oss]}
          redis: {image: redis}
          oss: {image: fakeoss}
          nginx: {image: nginx, depends_on: [web]}
        """,
    )

    assert project.start_order() == ["oss", "redis", "worker", "web", "nginx"]


def test_models_are_frozen(root: Path) -> None:
    spec = service(root, "image: app")

    with pytest.raises(ValueError, match="frozen"):
        spec.image = "other"


def test_the_repository_compose_file_loads() -> None:
    environ = {"SECRET_KEY": "test", "HOME": "/root"}

    project = load_project(REPO_ROOT / "compose.yaml", environ)

    assert project.services
    assert set(project.start_order()) == set(project.services)


def test_version_key_is_ignored_with_compose_v2s_warning(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stackctl.compose"):
        project = load(root, "version: '3.8'\nservices: {web: {image: app}}\n")

    assert list(project.services) == ["web"]
    assert [r.getMessage() for r in caplog.records] == [
        "compose.yaml: the attribute `version` is obsolete, it will be ignored,"
        " please remove it to avoid potential confusion"
    ]


def test_service_joins_the_default_network_unless_it_names_others(root: Path) -> None:
    project = load(
        root,
        """
        services:
          web: {image: app, networks: {front: {aliases: [api]}, back: }}
          db: {image: db}
        networks: {front: , back: {internal: true, name: shared-back}}
        """,
    )

    assert project.services["db"].networks == {"default": ServiceNetwork()}
    assert project.services["web"].networks == {
        "front": ServiceNetwork(aliases=["api"]),
        "back": ServiceNetwork(),
    }
    assert project.networks["back"].engine_name == "shared-back"
    assert project.networks["back"].internal
    assert "default" in project.networks


def test_network_mode_service_is_started_after_that_service(root: Path) -> None:
    project = load(
        root,
        "services: {vpn: {image: vpn}, app: {image: app, network_mode: 'service:vpn'}}",
    )

    assert project.services["app"].networks == {}
    assert project.services["app"].depends_on == {"vpn": DependsOn()}
    assert project.start_order() == ["vpn", "app"]


def test_anonymous_volumes_and_expose_are_read(root: Path) -> None:
    spec = service(root, "image: app\nvolumes: [/cache, {type: volume, target: /tmp/x/}]\n"
                   "expose: [3000, '8000-8001/udp']")  # fmt: skip

    assert spec.volumes == [
        MountSpec(type="volume", source="", target="/cache"),
        MountSpec(type="volume", source="", target="/tmp/x"),
    ]
    assert spec.expose == ["3000", "8000-8001/udp"]


def test_override_with_a_trailing_slash_replaces_the_same_mount(root: Path) -> None:
    override = root / "override.yaml"
    override.write_text("services: {web: {volumes: ['./b:/data/']}}\n")

    project = load(
        root,
        "services: {web: {image: app, volumes: ['./a:/data']}}\n",
        overrides=[override],
    )

    assert [(m.source, m.target) for m in project.services["web"].volumes] == [
        (str(root / "b"), "/data")
    ]


def test_extends_merges_a_service_of_this_file_and_of_another(root: Path) -> None:
    project = load(
        root,
        """
        services:
          base: {image: app, environment: {A: "1", B: "1"}}
          worker: {extends: base, environment: {B: "2"}}
          web: {extends: {file: common/web.yaml, service: web}, ports: ["18000:80"]}
        """,
        files={
            "common/web.yaml": "services: {web: {build: ./app, env_file: web.env}}\n",
            "common/app/Dockerfile": "FROM scratch\n",
            "common/web.env": "FROM_FILE=yes\n",
        },
    )

    assert project.services["worker"].environment == {"A": "1", "B": "2"}
    web = project.services["web"]
    assert web.build == BuildSpec(context=root / "common" / "app")
    assert web.environment == {"FROM_FILE": "yes"}
    assert [p.published for p in web.ports] == [18000]


def test_environment_secret_takes_the_variables_value(root: Path) -> None:
    project = load(
        root,
        "services: {web: {image: app, secrets: [token]}}\nsecrets: {token: {environment: TOKEN}}",
        environ={"TOKEN": "t0k3n"},
    )

    assert project.secrets["token"].read_bytes() == b"t0k3n"
    assert "t0k3n" not in repr(project.secrets["token"])


def test_deploy_and_host_options_are_read(root: Path) -> None:
    spec = service(
        root,
        """
        image: app
        init: "true"
        deploy: {replicas: 3, resources: {limits: {cpus: "0.5", memory: 1.5G}}}
        ulimits: {nofile: 1024, nproc: {soft: 10, hard: 20}}
        sysctls: [net.core.somaxconn=1024]
        extra_hosts: ["db:10.0.0.5"]
        """,
    )

    assert spec.init
    assert spec.replicas == 3
    assert spec.deploy.resources.limits.cpus == 0.5
    assert spec.deploy.resources.limits.memory == int(1.5 * 1024**3)
    assert spec.ulimits["nofile"].hard == 1024
    assert spec.sysctls == {"net.core.somaxconn": "1024"}
    assert spec.extra_hosts == ["db=10.0.0.5"]


def test_compose_profiles_activates_a_profile_and_a_named_service_is_active(
    root: Path,
) -> None:
    (root / "compose.yaml").write_text(
        "services: {app: {image: app}, debug: {image: d, profiles: [debug]},"
        " admin: {image: a, profiles: [admin]}}\n"
    )
    (root / ".env").write_text("COMPOSE_PROFILES=debug\n")

    from_dotenv = load_workspace(root, environ={})
    named = load_workspace(root, environ={"COMPOSE_PROFILES": ""}, services=["admin"])
    flag = load_workspace(root, environ={"COMPOSE_PROFILES": "debug"}, profiles=["admin"])

    assert list(from_dotenv.project.services) == ["app", "debug"]
    assert list(named.project.services) == ["app", "admin"]
    assert list(flag.project.services) == ["app", "admin"]


def test_short_limits_are_deploy_limits(root: Path) -> None:
    spec = service(root, "image: app\nmem_limit: 64m\ncpus: 1.5\npids_limit: 10")

    assert spec.deploy.resources.limits == ResourceSpec(cpus=1.5, memory=64 * 1024**2, pids=10)


def test_a_service_may_set_each_field_of_its_spec_and_each_key_once() -> None:
    assert set(ServiceSpec.model_fields) - {"name"} <= set(SERVICE_KEYS)
    assert len(set(SERVICE_KEYS)) == len(SERVICE_KEYS)
