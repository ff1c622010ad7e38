"""What a deploy ships, read from compose.yaml in its production shape: the services, and from its
top-level `x-deploy` block, the facts only a deploy needs (Kamal 2's roles and accessories):

    x-deploy:
      proxy: nginx          # the service whose image fronts the proxied role on each host
      roles:                # the app's own services, one container per release
        web: {proxy: 8000}  # the port the proxy forwards to (needs a healthcheck)
        worker: {}
      accessories:          # started once per host, kept across deploys (named volumes)
        redis: {}
      env:                  # the roles' plain run-time values (Kamal's `env.clear`): settings,
        LOG_LEVEL: info     # not secrets (Swarm keeps them environment, not secrets)
      secrets: [SECRET_KEY] # what the roles refuse to start without (Kamal's `env.secret`):
                            # from DEPLOY_SECRETS_FILE or the environment, never in a file
      check: [app, check]   # the app's settings check: one JSON line (status, detail, credentials)
      https-hosts:          # the names each host's certificate covers (STACK_HTTPS=acme|files):
        - www.example.com   # a list for every host (HTTPS_HOSTS replaces it), or a mapping
                            # {DEPLOY_HOSTS entry: [names]} adding each host's own names
      secrets-by:           # more secrets, chosen by the value of one of the roles' settings;
        CREDENTIALS_MODE:   # a name listed under another value only is refused when given
          static-key: [API_KEY_ID, API_KEY_SECRET]
          instance-role: []  # (and left out of the roles' environment): e.g. no stored key

A role or accessory may take `hosts: [...]` (a subset of DEPLOY_HOSTS); without it, every host.
What the app needs at run time is named here, never in stackctl: stackctl knows no app setting.
Every error is one line naming the file, the key and the value, raised before any host is touched.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.compose import Project, ServiceSpec, load_project
from stackctl.compose.envfiles import read_dotenv
from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate
from stackctl.compose.merge import merge
from stackctl.compose.reader import show
from stackctl.compose.yamlfile import read_yaml_file
from stackctl.errors import ComposeError
from stackctl.tls.settings import host_name_problem

if TYPE_CHECKING:
    from stackctl.settings import StackSettings
    from stackctl.tls.settings import HttpsSettings

BLOCK = "x-deploy"


@dataclass(frozen=True)
class Role:
    """An app service deployed as `<app>-<service>-<version>`, all roles moving together."""

    service: str
    proxy_port: int | None
    hosts: tuple[str, ...] | None


@dataclass(frozen=True)
class Accessory:
    """A service started once per host and kept: an app deploy never recreates it."""

    service: str
    hosts: tuple[str, ...] | None


@dataclass(frozen=True)
class SecretsBy:
    """`x-deploy.secrets-by.SETTING`: the secrets each value of the roles' SETTING needs. A name
    listed under another value only is unused by this one: refused when given (a key the app
    would not use must not sit on the hosts), left out of the roles' environment otherwise."""

    setting: str
    needs: Mapping[str, tuple[str, ...]]

    def needed(self, value: str) -> tuple[str, ...]:
        return self.needs.get(value, ())

    def unused(self, value: str) -> tuple[str, ...]:
        needed = set(self.needed(value))
        listed = (n for names in self.needs.values() for n in names if n not in needed)
        return tuple(dict.fromkeys(listed))


@dataclass(frozen=True)
class AppDefinition:
    project: Project
    roles: tuple[Role, ...]
    accessories: tuple[Accessory, ...]
    proxy: str | None
    """The service whose image runs as the host's proxy; None without a proxied role."""
    shown_as: str
    env: Mapping[str, str] = field(default_factory=dict)
    """`x-deploy.env`: plain run-time values of the roles (over compose's `environment`, under
    the release's secrets)."""
    secrets: tuple[str, ...] = ()
    """`x-deploy.secrets`: the names of the run-time secrets every release needs."""
    secrets_by: tuple[SecretsBy, ...] = ()
    """`x-deploy.secrets-by`: secrets chosen by the value of a setting of the roles."""
    check: tuple[str, ...] = ()
    """`x-deploy.check`: the app's own settings check, a command run in the release image that
    prints one JSON line (`status`, `detail`, `credentials`); empty: none."""
    https_hosts: tuple[str, ...] = ()
    """`x-deploy.https-hosts` as a list: the host names every host serves over HTTPS."""
    https_hosts_by_host: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """`x-deploy.https-hosts` as a mapping: a DEPLOY_HOSTS entry's own host names."""

    def plain_and_secret(
        self, environment: Mapping[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The roles' run-time values split: the plain ones (`env`, a release value of the same
        name over it) and the secrets (every other release value)."""
        plain = {**self.env, **{k: v for k, v in environment.items() if k in self.env}}
        return plain, {k: v for k, v in environment.items() if k not in self.env}

    def role_environment(self, environment: Mapping[str, str]) -> dict[str, str]:
        """What a role's container gets over compose's `environment`: `env`, then the release's
        values (secrets file, environment)."""
        return {**self.env, **environment}

    def role_setting(self, service: str, environment: Mapping[str, str], name: str) -> str:
        """The value of `name` a role's container gets: compose's `environment`, then `env`,
        then the release's values (empty when none sets it)."""
        return self.role_environment(environment).get(name) or self.spec(service).environment.get(
            name, ""
        )

    def spec(self, service: str) -> ServiceSpec:
        return self.project.services[service]

    @property
    def proxied(self) -> Role | None:
        return next((r for r in self.roles if r.proxy_port is not None), None)

    @property
    def checked_role(self) -> str:
        """The role whose running release `x-deploy.check` runs beside: the proxied one (it
        serves the users), else the first."""
        return (self.proxied or self.roles[0]).service

    def roles_on(self, host: str) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.hosts is None or host in r.hosts)

    def accessories_on(self, host: str) -> tuple[Accessory, ...]:
        return tuple(a for a in self.accessories if a.hosts is None or host in a.hosts)

    def accessory(self, name: str) -> Accessory:
        for accessory in self.accessories:
            if accessory.service == name:
                return accessory
        known = ", ".join(a.service for a in self.accessories) or "none"
        raise ComposeError(
            f"{self.shown_as}: {BLOCK}.accessories: no accessory {show(name)}"
            f" (accessories: {known})"
        )

    @property
    def services(self) -> list[str]:
        """Every service a deploy ships, roles first."""
        names = [r.service for r in self.roles] + [a.service for a in self.accessories]
        return names + ([self.proxy] if self.proxy else [])


def load_app(
    compose_file: Path,
    environ: Mapping[str, str],
    *,
    project_name: str | None = None,
    overrides: Sequence[Path] = (),
    hosts: Sequence[str] = (),
) -> AppDefinition:
    """compose.yaml (and `overrides`, merged as `docker compose -f` merges them) read as
    `invoke up --mode production` reads it, plus its `x-deploy` block checked against it.

    `hosts` are the deploy's hosts (DEPLOY_HOSTS): a role's own hosts must be among them.
    """
    project = load_project(compose_file, environ, project_name=project_name, overrides=overrides)
    files = [compose_file, *overrides]
    shown_as = " + ".join(_shown(f, compose_file.parent) for f in files)
    block: object = None
    for file in files:
        found = _raw_block(file, _shown(file, compose_file.parent))
        if found is not None:
            block = found if block is None else merge(block, found)
    variables = {**read_dotenv(compose_file.parent, environ), **environ}
    return _Checker(project, shown_as, variables, tuple(hosts)).app(block)


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return str(Path(os.path.abspath(path)).relative_to(project_dir))
    except ValueError:
        return str(path)


def _raw_block(path: Path, shown_as: str) -> object:
    document = read_yaml_file(path, shown_as)
    return document.get(BLOCK) if isinstance(document, dict) else None


class _Checker:
    def __init__(
        self,
        project: Project,
        shown_as: str,
        variables: Mapping[str, str],
        hosts: tuple[str, ...],
    ) -> None:
        self.project = project
        self.shown_as = shown_as
        self.variables = variables
        self.hosts = hosts

    def fail(self, path: str, message: str) -> ComposeError:
        return ComposeError(f"{self.shown_as}: {path}: {message}")

    def app(self, block: object) -> AppDefinition:
        if block is None:
            raise ComposeError(
                f"{self.shown_as}: no {BLOCK} block: add one naming the roles to deploy"
                f' (e.g. `{BLOCK}: {{roles: {{web: {{proxy: 8000}}}}}}`, see README "Deploy")'
            )
        keys = (
            "proxy",
            "roles",
            "accessories",
            "env",
            "secrets",
            "secrets-by",
            "check",
            "https-hosts",
        )
        block = self._mapping(block, BLOCK, keys)
        roles_raw = self._mapping(block.get("roles"), f"{BLOCK}.roles", None)
        if not roles_raw:
            raise self.fail(f"{BLOCK}.roles", "no roles: name at least one service to deploy")
        roles = tuple(self._role(name, value) for name, value in roles_raw.items())
        accessories_raw = block.get("accessories")
        accessories: tuple[Accessory, ...] = ()
        if accessories_raw is not None:
            accessories = tuple(
                self._accessory(name, value)
                for name, value in self._mapping(
                    accessories_raw, f"{BLOCK}.accessories", None
                ).items()
            )
        for accessory in accessories:
            if any(r.service == accessory.service for r in roles):
                raise self.fail(
                    f"{BLOCK}.accessories.{accessory.service}",
                    f"{show(accessory.service)} is also a role: a service is one or the other",
                )
        proxied = [r for r in roles if r.proxy_port is not None]
        if len(proxied) > 1:
            raise self.fail(
                f"{BLOCK}.roles.{proxied[1].service}.proxy",
                f"a second proxied role (the first is {proxied[0].service}): proxy one role",
            )
        proxy = block.get("proxy")
        if proxy is not None:
            proxy = self._service(proxy, f"{BLOCK}.proxy")
        if proxied and proxy is None:
            raise self.fail(
                f"{BLOCK}.roles.{proxied[0].service}.proxy",
                f"role {proxied[0].service} is proxied but no `{BLOCK}.proxy` service is named:"
                " name the service whose image is the proxy",
            )
        if proxy is not None and not proxied:
            raise self.fail(f"{BLOCK}.proxy", f"proxy {show(proxy)} but no role has `proxy: PORT`")
        env = self._env(block.get("env"))
        secrets = self._names(block.get("secrets"), f"{BLOCK}.secrets")
        secrets_by = self._secrets_by(block.get("secrets-by"))
        check = self._command(block.get("check"), f"{BLOCK}.check")
        https_hosts, by_host = self._https_hosts(block.get("https-hosts"))
        return AppDefinition(
            self.project,
            roles,
            accessories,
            proxy,
            self.shown_as,
            env,
            secrets,
            secrets_by,
            check,
            https_hosts,
            by_host,
        )

    def _https_hosts(self, value: object) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
        path = f"{BLOCK}.https-hosts"
        if value is None:
            return (), {}
        if isinstance(value, dict):
            by_host = {}
            for host, names in self._mapping(value, path, None).items():
                if self.hosts and host not in self.hosts:
                    raise self.fail(
                        f"{path}.{host}",
                        f"host {show(host)} is not in DEPLOY_HOSTS ({', '.join(self.hosts)})",
                    )
                by_host[host] = self._host_names(names, f"{path}.{host}")
            return (), by_host
        return self._host_names(value, path), {}

    def _host_names(self, value: object, path: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [n for n in self._text(value, path).replace(",", " ").split() if n]
        if not isinstance(value, list) or not value:
            raise self.fail(
                path, f"expected host names such as [www.example.com], got {show(value)}"
            )
        names = []
        for i, raw in enumerate(value):
            name = self._text(raw, f"{path}[{i}]") if isinstance(raw, str) else raw
            problem = host_name_problem(name) if isinstance(name, str) else "not a host name"
            if problem:
                raise self.fail(f"{path}[{i}]", f"{show(raw)} {problem}")
            names.append(str(name).lower())
        return tuple(names)

    def _command(self, value: object, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = shlex.split(value)
        if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
            raise self.fail(path, f"expected a command (a list of words), got {show(value)}")
        return tuple(value)

    def _secrets_by(self, value: object) -> tuple[SecretsBy, ...]:
        path = f"{BLOCK}.secrets-by"
        found = []
        for setting, choices in self._mapping(value, path, None).items():
            if not setting.isidentifier():
                raise self.fail(path, f"invalid setting name {show(setting)}")
            mapping = self._mapping(choices, f"{path}.{setting}", None)
            if not mapping:
                raise self.fail(
                    f"{path}.{setting}",
                    "no values: map each value of the setting to the secrets it needs",
                )
            needs = {
                choice: self._names(names, f"{path}.{setting}.{choice}")
                for choice, names in mapping.items()
            }
            found.append(SecretsBy(setting, needs))
        return tuple(found)

    def _names(self, value: object, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of variable names, got {show(value)}")
        for i, name in enumerate(value):
            if not isinstance(name, str) or not name.isidentifier():
                raise self.fail(f"{path}[{i}]", f"invalid variable name {show(name)}")
        return tuple(value)

    def _env(self, value: object) -> dict[str, str]:
        found = {}
        for name, raw in self._mapping(value, f"{BLOCK}.env", None).items():
            path = f"{BLOCK}.env.{name}"
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise self.fail(path, f"invalid value {show(raw)}: expected a string or number")
            found[name] = self._text(raw, path) if isinstance(raw, str) else str(raw)
        return found

    def _text(self, value: str, path: str) -> str:
        try:
            return interpolate(value, self.variables)
        except (MissingRequiredVariable, InvalidTemplate) as exc:
            raise self.fail(path, str(exc)) from None

    def _mapping(self, value: object, path: str, keys: tuple[str, ...] | None) -> dict[str, object]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {show(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"invalid key {show(key)}: keys must be strings")
            if keys is not None and key not in keys:
                raise self.fail(f"{path}.{key}", f"unsupported key (supported: {', '.join(keys)})")
        return {str(k): v for k, v in value.items()}

    def _service(self, name: object, path: str) -> str:
        if not isinstance(name, str) or name not in self.project.services:
            known = ", ".join(self.project.services)
            raise self.fail(
                path, f"no service {show(name)} in the compose file (services: {known})"
            )
        return name

    def _role(self, name: str, value: object) -> Role:
        path = f"{BLOCK}.roles.{name}"
        service = self._service(name, path)
        fields = self._mapping(value, path, ("proxy", "hosts"))
        port: int | None = None
        if fields.get("proxy") is not None:
            raw = fields["proxy"]
            text = self._text(raw, f"{path}.proxy") if isinstance(raw, str) else raw
            if isinstance(text, str) and text.isdigit():
                text = int(text)
            if not isinstance(text, int) or isinstance(text, bool) or not 1 <= text <= 65535:
                raise self.fail(
                    f"{path}.proxy",
                    f"invalid port {show(raw)}: expected the port (1-65535)"
                    " the role's container listens on",
                )
            port = text
            check = self.project.services[service].healthcheck
            if check is None or check.disabled:
                raise self.fail(
                    f"{path}.proxy",
                    f"proxied role {service} has no healthcheck: add services.{service}.healthcheck"
                    " (the proxy switches only to a release that passed it)",
                )
        self._deployable(service, path)
        return Role(service, port, self._hosts(fields.get("hosts", None), path, "hosts" in fields))

    def _accessory(self, name: str, value: object) -> Accessory:
        path = f"{BLOCK}.accessories.{name}"
        service = self._service(name, path)
        fields = self._mapping(value, path, ("hosts",))
        self._deployable(service, path)
        return Accessory(service, self._hosts(fields.get("hosts"), path, "hosts" in fields))

    def _deployable(self, service: str, path: str) -> None:
        spec = self.project.services[service]
        for mount in spec.volumes:
            if mount.type == "bind":
                raise self.fail(
                    path,
                    f"services.{service} bind-mounts {show(mount.source)}, which a host does not"
                    " have: use a named volume",
                )
        for key, value in _unhonoured(spec):
            raise self.fail(
                path,
                f"services.{service}.{key}: {show(value)}: invoke deploy runs each service on the"
                " app's own network with its compose name: remove the key for deploy (a"
                " compose.override.yaml can keep it for `invoke up`)",
            )
        for secret in spec.secrets:
            if "/" in secret.file_name:
                raise self.fail(
                    path,
                    f"services.{service} secret target {show(secret.file_name)}: deploy mounts"
                    " secrets under /run/secrets only; give a bare file name",
                )

    def _hosts(self, value: object, path: str, given: bool) -> tuple[str, ...] | None:
        if not given:
            return None
        if isinstance(value, str):
            value = [h.strip() for h in self._text(value, f"{path}.hosts").split(",") if h.strip()]
        if not isinstance(value, list) or not value:
            raise self.fail(
                f"{path}.hosts",
                f"empty host list {show(value)}: name at least one host, or remove the key"
                " for every host",
            )
        hosts: list[str] = []
        for i, host in enumerate(value):
            text = self._text(host, f"{path}.hosts[{i}]") if isinstance(host, str) else host
            if not isinstance(text, str) or not text:
                raise self.fail(f"{path}.hosts[{i}]", f"invalid host {show(host)}")
            if self.hosts and text not in self.hosts:
                raise self.fail(
                    f"{path}.hosts[{i}]",
                    f"host {show(text)} is not in DEPLOY_HOSTS ({', '.join(self.hosts)})",
                )
            hosts.append(text)
        return tuple(hosts)


def _unhonoured(spec: ServiceSpec) -> list[tuple[str, str]]:
    """Compose keys `invoke up` honours that a deployed container cannot: its network is the
    app's and its name carries the release."""
    found: list[tuple[str, str]] = []
    if set(spec.networks) - {"default"}:
        found.append(("networks", ", ".join(sorted(spec.networks))))
    if spec.network_mode is not None:
        found.append(("network_mode", spec.network_mode))
    if spec.container_name is not None:
        found.append(("container_name", spec.container_name))
    return found


def load_for_deploy(
    project_dir: Path,
    hosts: Sequence[str],
    compose_override: Path | None,
    environ: Mapping[str, str] | None = None,
    https: HttpsSettings | None = None,
) -> tuple[StackSettings, AppDefinition]:
    """The stack settings and app definition exactly as `invoke up --mode production` reads
    them (same project name, so the same image names and build fingerprints); with `https`,
    its mode's override merged as `invoke up` merges it (before DEPLOY_COMPOSE_OVERRIDE)."""
    from stackctl.deploy.httpsmode import app_overrides
    from stackctl.settings import load_settings

    environ = {**(os.environ if environ is None else environ), "STACK_MODE": "production"}
    stack = load_settings(project_dir, environ, read_dotenv(project_dir, environ))
    overrides, values = app_overrides(https, project_dir) if https else ([], {})
    app = load_app(
        stack.compose_file,
        {**environ, **values},
        project_name=stack.project_name,
        overrides=[*overrides, *([compose_override] if compose_override else [])],
        hosts=hosts,
    )
    return stack, app
