"""compose.yaml mistakes: each is one ComposeError line naming the file, the path and the value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackctl.compose import load_project
from stackctl.errors import ComposeError

DOCKERFILE = {"app/Dockerfile": "FROM scratch\n"}


def case(
    compose: str,
    prefix: str,
    *fragments: str,
    id: str,
    files: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    profiles: tuple[str, ...] = (),
) -> object:
    return pytest.param(compose, files or {}, environ or {}, profiles, prefix, fragments, id=id)


CASES = [
    case(
        "services:\n  web:\n    image: [app\n",
        "compose.yaml: line 4, column 1: invalid YAML: ",
        id="bad-yaml",
    ),
    case(
        "services:\n  web:\n    image: a\n    image: b\n",
        "compose.yaml: line 4, column 5: invalid YAML: ",
        'duplicate key "image"',
        id="duplicate-key",
    ),
    case("", "compose.yaml: file is empty", id="empty-file"),
    case("- web\n", "compose.yaml: expected a mapping", 'a list ["web"]', id="top-level-list"),
    case(
        "service: {web: {image: app}}\n",
        "compose.yaml: service: unsupported key",
        'did you mean "services"?',
        "supported: name, services, volumes, networks",
        id="unknown-top-level-key",
    ),
    case(
        "web: {image: app}\ndb: {image: postgres}\n",
        "compose.yaml: web: services at the top level (compose file format version 1",
        "move them under a top-level `services:` key",
        id="version-1-file",
    ),
    case(
        "services: {}\n",
        "compose.yaml: services: no services",
        id="no-services",
    ),
    case(
        "services: {web: {image: app}}\nsecrets: {token: {external: true}}\n",
        "compose.yaml: secrets.token.external: unsupported compose key",
        id="real-compose-key-gets-no-guess",
    ),
    case(
        "services: {web: {image: app, links: [db]}}\n",
        "compose.yaml: services.web.links: unsupported compose key",
        id="unsupported-service-key-by-name",
    ),
    case(
        "services: {web: {image: app, volumes: ['./a:/data', './b:/data/']}}\n",
        'compose.yaml: services.web.volumes[1]: mount target "/data/" is already mounted by'
        " services.web.volumes[0]",
        id="two-mounts-one-target",
    ),
    case(
        "services: {web: {image: app, healthcheck: {test: 'true', retries: true}}}\n",
        'compose.yaml: services.web.healthcheck.retries: expected an integer, got a boolean "true"',
        id="retries-boolean",
    ),
    case(
        "services: {web: {image: app, init: 'yes'}}\n",
        'compose.yaml: services.web.init: expected true or false, got a string "yes"',
        id="init-yes",
    ),
    case(
        "services: {web: {build: 'https://github.com/docker/awesome-compose.git#main:flask'}}\n",
        "compose.yaml: services.web.build: build context from a git repository",
        "fetch it and give the local folder",
        id="git-build-context",
    ),
    case(
        "services: {web: {build: {context: 'https://example.com/app.tar.gz'}}}\n",
        'compose.yaml: services.web.build.context: build context from a URL "https://',
        id="url-build-context",
    ),
    case(
        "services: {web: {image: app, deploy: {replicas: 2}, container_name: web}}\n",
        'compose.yaml: services.web.container_name: container_name "web" with deploy.replicas 2',
        id="container-name-with-replicas",
    ),
    case(
        "services: {web: {image: app, mem_limit: 1g, deploy: {resources: {limits: {memory: 2g}}}}}",
        "compose.yaml: services.web.mem_limit: mem_limit and deploy.resources.limits.memory differ",
        id="mem-limit-disagrees",
    ),
    case(
        "services: {web: {image: app, network_mode: bridge}}\n",
        'compose.yaml: services.web.network_mode: unsupported network_mode "bridge"',
        id="network-mode-bridge",
    ),
    case(
        "services: {web: {image: app, network_mode: host, networks: [default]}}\n",
        "compose.yaml: services.web.networks: networks and network_mode cannot be combined",
        id="networks-and-network-mode",
    ),
    case(
        "services: {web: {image: app, extends: {service: nope}}}\n",
        'compose.yaml: services.web.extends.service: no service "nope" to extend',
        id="extends-unknown-service",
    ),
    case(
        "services: {a: {image: app, extends: b}, b: {image: app, extends: a}}\n",
        "compose.yaml: services.b.extends: extends cycle: a -> b -> a",
        id="extends-cycle",
    ),
    case(
        "services: {web: {image: app, secrets: [token]}}\nsecrets: {token: {environment: TOKEN}}\n",
        "compose.yaml: secrets.token.environment: secret token is missing:"
        " variable TOKEN is not set",
        id="environment-secret-unset",
    ),
    case("name: x\n", "compose.yaml: services: missing", id="no-services"),
    case(
        "services: [web]\n",
        "compose.yaml: services: expected a mapping of service names",
        'got a list ["web"]',
        id="services-not-a-mapping",
    ),
    case(
        "services: {web: }\n",
        "compose.yaml: services.web: expected a mapping with image or build, got null",
        id="service-is-null",
    ),
    case(
        "services: {'my web': {image: app}}\n",
        "compose.yaml: services.my web: invalid service name",
        '"my web"',
        id="bad-service-name",
    ),
    case(
        "services: {web: {image: app, bulid: .}}\n",
        "compose.yaml: services.web.bulid: unsupported key",
        'did you mean "build"?',
        "supported: build, image,",
        id="unknown-service-key",
    ),
    case(
        "services: {web: {restart: always}}\n",
        "compose.yaml: services.web: neither image nor build",
        id="neither-image-nor-build",
    ),
    case(
        "services: {web: {image: app, ports: ['99999']}}\n",
        'compose.yaml: services.web.ports[0]: invalid port "99999": must be 1-65535',
        id="port-out-of-range",
    ),
    case(
        "services: {web: {image: app, ports: ['8080:0']}}\n",
        'compose.yaml: services.web.ports[0]: invalid port "0" in "8080:0": must be 1-65535',
        id="port-zero",
    ),
    case(
        "services: {web: {image: app, ports: ['abc:80']}}\n",
        'compose.yaml: services.web.ports[0]: invalid port "abc" in "abc:80"',
        "must be a number 1-65535",
        id="port-not-a-number",
    ),
    case(
        "services: {web: {image: app, ports: ['300.1.2.3:8080:80']}}\n",
        'compose.yaml: services.web.ports[0]: invalid host IP "300.1.2.3"',
        id="port-bad-host-ip",
    ),
    case(
        "services: {web: {image: app, ports: ['80/icmp']}}\n",
        'compose.yaml: services.web.ports[0]: invalid protocol "icmp"',
        id="port-bad-protocol",
    ),
    case(
        "services: {web: {image: app, ports: ['8000-8010:8000-8010']}}\n",
        'compose.yaml: services.web.ports[0]: port range "8000-8010:8000-8010" is not supported',
        id="port-range",
    ),
    case(
        "services: {web: {image: app, ports: ['1:2:3:4']}}\n",
        'compose.yaml: services.web.ports[0]: invalid port "1:2:3:4"',
        "[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]",
        id="port-too-many-parts",
    ),
    case(
        "services: {web: {image: app, ports: [{published: 8080}]}}\n",
        'compose.yaml: services.web.ports[0]: missing key "target"',
        id="long-port-without-target",
    ),
    case(
        "services: {web: {image: app, ports: [{target: 70000}]}}\n",
        'compose.yaml: services.web.ports[0].target: invalid port "70000"',
        id="long-port-out-of-range",
    ),
    case(
        "services: {web: {image: app, ports: [{target: 80, mode: host}]}}\n",
        "compose.yaml: services.web.ports[0].mode: unsupported key",
        id="long-port-unknown-key",
    ),
    case(
        """
        services:
          web: {image: app, ports: ['8080:80']}
          admin: {image: app, ports: ['127.0.0.1:8080:81']}
        """,
        'compose.yaml: services.admin.ports[0]: host port "127.0.0.1:8080"/tcp is already published'
        " by services.web.ports[0]",
        id="duplicate-published-port",
    ),
    case(
        "services: {web: {image: 'app:${TAG:?set TAG in .env}'}}\n",
        "compose.yaml: services.web.image: required variable TAG is missing a value:"
        " set TAG in .env",
        id="missing-required-variable",
    ),
    case(
        "services: {web: {image: app, environment: {A: '${EMPTY?must exist}'}}}\n",
        "compose.yaml: services.web.environment.A: required variable EMPTY is missing a value",
        id="missing-required-variable-without-colon",
    ),
    case(
        "services: {web: {image: app, command: [echo, 'cost: ${1}']}}\n",
        'compose.yaml: services.web.command[1]: invalid interpolation format "${1}"',
        "escape any $ with another $",
        id="invalid-interpolation",
    ),
    case(
        """
        services:
          web: {image: app, depends_on: [worker]}
          worker: {image: app, depends_on: [web]}
        """,
        "compose.yaml: services.web.depends_on: dependency cycle: web -> worker -> web",
        id="dependency-cycle",
    ),
    case(
        """
        services:
          a: {image: app, depends_on: [b]}
          b: {image: app, depends_on: [c]}
          c: {image: app, depends_on: {a: {condition: service_started}}}
        """,
        "compose.yaml: services.a.depends_on: dependency cycle: a -> b -> c -> a",
        id="long-dependency-cycle",
    ),
    case(
        """
        services:
          a: {image: app, depends_on: [c]}
          c: {image: app, depends_on: [b]}
          b: {image: app, depends_on: [c]}
        """,
        "compose.yaml: services.b.depends_on: dependency cycle: b -> c -> b",
        id="dependency-cycle-past-a-service-outside-it",
    ),
    case(
        "services: {web: {image: app, depends_on: [web]}}\n",
        'compose.yaml: services.web.depends_on[0]: web depends on itself: remove "web"',
        id="self-dependency",
    ),
    case(
        "services: {web: {image: app, depends_on: [db]}}\n",
        'compose.yaml: services.web.depends_on[0]: unknown service "db" (services: web)',
        id="unknown-dependency",
    ),
    case(
        """
        services:
          db: {image: pg}
          web: {image: app, depends_on: {db: {condition: service_healthy}}}
        """,
        "compose.yaml: services.web.depends_on.db: condition service_healthy,"
        ' but "db" has no healthcheck',
        id="service-healthy-without-healthcheck",
    ),
    case(
        """
        services:
          db: {image: pg, healthcheck: {disable: true}}
          web: {image: app, depends_on: {db: {condition: service_healthy}}}
        """,
        "compose.yaml: services.web.depends_on.db: condition service_healthy,"
        ' but "db" has no healthcheck',
        id="service-healthy-with-disabled-healthcheck",
    ),
    case(
        """
        services:
          db: {image: pg}
          web: {image: app, depends_on: {db: {condition: service_ready}}}
        """,
        'compose.yaml: services.web.depends_on.db.condition: unknown condition "service_ready"',
        id="unknown-dependency-condition",
    ),
    case(
        """
        services:
          debugger: {image: busybox, profiles: [debug]}
          web: {image: app, depends_on: [debugger]}
        """,
        'compose.yaml: services.web.depends_on[0]: "debugger" is not active (profiles: debug)',
        id="dependency-on-an-inactive-profile",
    ),
    case(
        "services: {web: {build: ./missing}}\n",
        'compose.yaml: services.web.build: build context directory not found "./missing"',
        id="missing-build-context",
    ),
    case(
        "services: {web: {build: {context: ./missing}}}\n",
        "compose.yaml: services.web.build.context: build context directory not found",
        id="missing-build-context-long",
    ),
    case(
        "services: {web: {build: {context: app, dockerfile: Dockerfile.prod}}}\n",
        'compose.yaml: services.web.build.dockerfile: Dockerfile not found "Dockerfile.prod"',
        files=DOCKERFILE,
        id="missing-dockerfile",
    ),
    case(
        "services: {web: {build: {context: app, cache_from: [x]}}}\n",
        "compose.yaml: services.web.build.cache_from: unsupported key",
        files=DOCKERFILE,
        id="unknown-build-key",
    ),
    case(
        "services: {web: {image: app, env_file: [app.env, secrets.env]}}\n",
        'compose.yaml: services.web.env_file[1]: env file not found "secrets.env"',
        files={"app.env": "A=1\n"},
        id="missing-env-file",
    ),
    case(
        "services: {web: {image: app, env_file: config/app.env}}\n",
        'config/app.env: line 2: cannot parse "not a binding"',
        files={"config/app.env": "A=1\nnot a binding\n"},
        id="env-file-malformed-line",
    ),
    case(
        "services: {web: {image: app}}\n",
        '.env: line 3: cannot parse "TAG latest": expected KEY=VALUE',
        files={".env": "# settings\nA=1\nTAG latest\n"},
        id="dotenv-malformed-line",
    ),
    case(
        "services: {web: {image: app, volumes: ['cache:/cache']}}\n",
        'compose.yaml: services.web.volumes[0]: undeclared volume "cache"',
        id="undeclared-named-volume",
    ),
    case(
        "services: {web: {image: app, volumes: ['a:/b:ro:x']}}\n",
        'compose.yaml: services.web.volumes[0]: invalid volume "a:/b:ro:x"',
        id="volume-too-many-parts",
    ),
    case(
        "services: {web: {image: app, volumes: ['./src:app']}}\n",
        'compose.yaml: services.web.volumes[0]: invalid mount target "app"',
        id="volume-relative-target",
    ),
    case(
        "services: {web: {image: app, volumes: ['./src:/app:z']}}\n",
        'compose.yaml: services.web.volumes[0]: unsupported volume option "z"',
        id="volume-unknown-option",
    ),
    case(
        "services: {web: {image: app, volumes: ['src/static:/static']}}\n",
        'compose.yaml: services.web.volumes[0]: invalid volume name "src/static"',
        'starts with "./"',
        id="bind-source-without-dot-slash",
    ),
    case(
        "services: {web: {image: app, volumes: [{type: tmpfs, target: /tmp}]}}\n",
        'compose.yaml: services.web.volumes[0].type: unsupported mount type "tmpfs"',
        id="unsupported-mount-type",
    ),
    case(
        "services: {web: {image: app}}\nvolumes: {data: {external: true}}\n",
        "compose.yaml: volumes.data.external: unsupported compose key",
        id="unsupported-volume-setting",
    ),
    case(
        "services: {web: {image: app, restart: sometimes}}\n",
        'compose.yaml: services.web.restart: invalid restart policy "sometimes"',
        id="bad-restart",
    ),
    case(
        "services: {web: {image: app, restart: false}}\n",
        'compose.yaml: services.web.restart: invalid restart policy "false"',
        id="restart-boolean",
    ),
    case(
        "services: {web: {image: app, healthcheck: {test: [CMD, 'true'], interval: 5x}}}\n",
        'compose.yaml: services.web.healthcheck.interval: invalid duration "5x"',
        'e.g. "1m30s"',
        id="bad-healthcheck-duration",
    ),
    case(
        "services: {web: {image: app, stop_grace_period: 10}}\n",
        'compose.yaml: services.web.stop_grace_period: invalid duration "10"',
        id="duration-without-unit",
    ),
    case(
        "services: {web: {image: app, healthcheck: {test: [curl, localhost]}}}\n",
        "compose.yaml: services.web.healthcheck.test: invalid healthcheck test",
        '["curl", "localhost"]',
        id="healthcheck-test-without-cmd",
    ),
    case(
        "services: {web: {image: app, healthcheck: {test: [CMD, 'true'], retries: -1}}}\n",
        'compose.yaml: services.web.healthcheck.retries: invalid value "-1"',
        "greater than or equal to 0",
        id="negative-healthcheck-retries",
    ),
    case(
        "services: {web: {image: app, labels: {tier: {name: web}}}}\n",
        'compose.yaml: services.web.labels.tier: invalid value {"name": "web"}',
        "expected a string, number or boolean",
        id="bad-label-type",
    ),
    case(
        "services: {web: {image: app, labels: tier}}\n",
        "compose.yaml: services.web.labels: expected a mapping or a list",
        id="labels-not-a-mapping",
    ),
    case(
        "services: {web: {image: app, environment: ['=value']}}\n",
        'compose.yaml: services.web.environment[0]: invalid entry "=value"',
        id="bad-environment-entry",
    ),
    case(
        "services: {web: {image: app, environment: [{A: 1}]}}\n",
        'compose.yaml: services.web.environment[0]: expected a "KEY=VALUE" string',
        id="environment-entry-not-a-string",
    ),
    case(
        "services: {web: {image: app, init: maybe}}\n",
        'compose.yaml: services.web.init: expected true or false, got a string "maybe"',
        id="init-not-a-boolean",
    ),
    case(
        "services: {web: {image: ''}}\n",
        'compose.yaml: services.web.image: invalid value ""',
        id="empty-image",
    ),
    case(
        'services: {web: {image: app, command: "echo \'unclosed"}}\n',
        "compose.yaml: services.web.command: invalid command",
        "no closing quotation",
        id="unbalanced-command-quote",
    ),
    case(
        "services: {web: {image: app, profiles: debug}}\n",
        "compose.yaml: services.web.profiles: expected a list of profile names,",
        'got a string "debug"',
        id="profiles-not-a-list",
    ),
    case(
        "services: {web: {image: app, networks: [back]}}\nnetworks: {front: }\n",
        'compose.yaml: services.web.networks.back: undeclared network "back"',
        id="undeclared-network",
    ),
    case(
        "services: {web: {image: app}}\nnetworks: {back: {external: true, driver: overlay}}\n",
        "compose.yaml: networks.back.driver: an external network is created outside the project",
        id="external-network-with-settings",
    ),
    case(
        "name: My App\nservices: {web: {image: app}}\n",
        'compose.yaml: name: invalid project name "My App"',
        id="bad-project-name",
    ),
]


@pytest.mark.parametrize(("compose", "files", "environ", "profiles", "prefix", "fragments"), CASES)
def test_invalid_compose_file_is_one_line_naming_file_path_and_value(
    tmp_path: Path,
    compose: str,
    files: dict[str, str],
    environ: dict[str, str],
    profiles: tuple[str, ...],
    prefix: str,
    fragments: tuple[str, ...],
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(compose))

    with pytest.raises(ComposeError) as raised:
        load_project(tmp_path / "compose.yaml", environ, profiles=profiles)

    message = str(raised.value)
    assert message.startswith(prefix), message
    assert all(fragment in message for fragment in fragments), message
    assert "\n" not in message


def test_missing_compose_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match=r"^compose.yaml: file not found \("):
        load_project(tmp_path / "compose.yaml", {})


def test_invalid_project_name_argument_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {web: {image: app}}\n")

    with pytest.raises(ComposeError, match=r'^compose.yaml: invalid project name "Bad Name"'):
        load_project(tmp_path / "compose.yaml", {}, project_name="Bad Name")


def test_several_model_errors_are_joined_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services: {web: {image: app, stop_signal: 1, working_dir: 1}}"
    )

    with pytest.raises(ComposeError) as raised:
        load_project(tmp_path / "compose.yaml", {})

    assert str(raised.value).startswith(
        'compose.yaml: services.web.working_dir: invalid value "1": Input should be a valid'
        ' string; services.web.stop_signal: invalid value "1"'
    )
