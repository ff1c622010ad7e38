"""Reads compose.yaml's documents: the file and its overrides loaded, merged and checked at the
top level, `.env` read and every string interpolated; then each top-level key and each service
handed to its reader (`toplevel`, `services`), into plain field values that `stackctl.compose`
turns into models. Errors name the file, the dotted path and the value."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from stackctl.compose.envfiles import read_dotenv
from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate
from stackctl.compose.merge import merge

# Re-exported: callers quote values the way compose errors do.
from stackctl.compose.messages import child as child
from stackctl.compose.messages import kind as kind
from stackctl.compose.messages import show as show
from stackctl.compose.services import Declared, Services
from stackctl.compose.services import ServiceFields as ServiceFields
from stackctl.compose.toplevel import TopLevel
from stackctl.compose.values import FileChecks
from stackctl.compose.yamlfile import read_yaml_file, without_extensions
from stackctl.errors import ComposeError

logger = logging.getLogger("stackctl.compose")

TOP_LEVEL_KEYS = ("name", "services", "volumes", "networks", "secrets")
# Keys of the Compose specification stackctl does not support: refused by name, with no
# "did you mean" guess (they are not typos).
COMPOSE_TOP_LEVEL_KEYS = ("version", "configs", "include", "models")


def directory_project_name(project_dir: Path) -> str:
    """Compose's default project name: the folder's name, lowercase, without other characters."""
    name = re.sub(r"[^a-z0-9_-]", "", project_dir.name.lower()).lstrip("-_")
    return name or "stack"


class ComposeReader(FileChecks):
    """Reads one compose file. Every `fail` is a one-line ComposeError naming this file."""

    def __init__(
        self,
        compose_file: Path,
        environ: Mapping[str, str],
        overrides: Sequence[Path] = (),
        *,
        service_keys: Collection[str],
        project_name: str | None = None,
    ) -> None:
        super().__init__(compose_file, environ)
        # The keys a service may have: derived from ServiceSpec (compose/models.py) and handed in
        # by load_project, so the reader reads what the model holds and knows no model.
        self.service_keys = tuple(service_keys)
        self.project_name = project_name
        self.overrides = list(overrides)
        self.declared_volumes: set[str] = set()
        self.declared_secrets: set[str] = set()
        self.declared_networks: set[str] = set()
        self.dependency_paths: dict[tuple[str, str], str] = {}

    # -- the documents ---------------------------------------------------------------------

    def read(self) -> dict[str, object]:
        """The top-level mapping, keys checked, `.env` read and every string interpolated."""
        document = without_extensions(read_yaml_file(self.compose_file, self.shown_as))
        if document is None:
            self.fail("", 'file is empty: expected a mapping with a "services" key')
        if not isinstance(document, dict):
            self.expect("", document, 'a mapping with a "services" key at the top level')
        document = self._without_version(document)
        self._check_not_version_1(document)
        document = self.known_keys(document, "", TOP_LEVEL_KEYS, COMPOSE_TOP_LEVEL_KEYS)
        for override in self.overrides:
            document = merge(document, self._override(override))
        if self.overrides:
            # Past the merge a value may come from either file: name them all.
            self.shown_as = " + ".join([self.shown_as, *map(self.shown_path, self.overrides)])
        if "services" not in document:
            self.fail("services", "missing: define at least one service")
        self.variables = {**self._dotenv(), **self.environ}
        # As in compose v2, the file may use the project's name: ${COMPOSE_PROJECT_NAME}.
        self.variables["COMPOSE_PROJECT_NAME"] = self._name_for_variables(document)
        interpolated = self.interpolated(document, "")
        for name in sorted(self.unset_variables):
            logger.warning('The "%s" variable is not set. Defaulting to a blank string.', name)
        assert isinstance(interpolated, dict)
        self.declared_networks = set(self.networks(interpolated))
        self.declared_volumes = set(self.volumes(interpolated))
        self.declared_secrets = set(self.secrets(interpolated))
        return interpolated

    def _override(self, path: Path) -> dict[str, object]:
        """An override file, read and checked under its own name; paths stay project-relative."""
        shown_as = self.shown_path(path)
        document = without_extensions(read_yaml_file(path, shown_as))
        if not isinstance(document, dict):
            raise ComposeError(f"{shown_as}: expected a mapping at the top level")
        base_name, self.shown_as = self.shown_as, shown_as
        try:
            document = self._without_version(document)
            return self.known_keys(document, "", TOP_LEVEL_KEYS, COMPOSE_TOP_LEVEL_KEYS)
        finally:
            self.shown_as = base_name

    def _name_for_variables(self, document: dict[str, object]) -> str:
        """The project name as the file's `${COMPOSE_PROJECT_NAME}` sees it: given, else from
        the environment or .env, else the file's `name` (interpolated), else the folder's."""
        if self.project_name is not None:
            return self.project_name
        if self.variables.get("COMPOSE_PROJECT_NAME"):
            return self.variables["COMPOSE_PROJECT_NAME"]
        declared = document.get("name")
        if isinstance(declared, str):
            try:
                return interpolate(declared, self.variables)
            except (InvalidTemplate, MissingRequiredVariable):
                return declared  # the document's interpolation reports it, naming the key
        return directory_project_name(self.project_dir)

    def _without_version(self, document: dict[object, object]) -> dict[object, object]:
        if "version" not in document:
            return document
        # compose v2's own words: the key is obsolete and ignored.
        logger.warning(
            "%s: the attribute `version` is obsolete, it will be ignored,"
            " please remove it to avoid potential confusion",
            self.shown_as,
        )
        return {key: value for key, value in document.items() if key != "version"}

    def _check_not_version_1(self, document: dict[object, object]) -> None:
        """A compose file format 1 has its services at the top level: say so, not "unknown key"."""
        if "services" in document:
            return
        looks_like_services = [
            key
            for key, value in document.items()
            if isinstance(value, dict) and ("image" in value or "build" in value)
        ]
        if looks_like_services:
            self.fail(
                str(looks_like_services[0]),
                "services at the top level (compose file format version 1, not supported):"
                " move them under a top-level `services:` key",
            )

    def _dotenv(self) -> dict[str, str]:
        return read_dotenv(self.project_dir, self.environ)

    # -- what the document holds -----------------------------------------------------------

    def networks(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level networks: name -> NetworkSpec fields."""
        return TopLevel(self).networks(document)

    def volumes(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level named volumes: name -> VolumeSpec fields."""
        return TopLevel(self).volumes(document)

    def secrets(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level secrets: name -> SecretSpec fields."""
        return TopLevel(self).secrets(document)

    def services(self, document: dict[str, object]) -> dict[str, ServiceFields]:
        """Each service's fields, in file order; `dependency_paths` says where each
        dependency is named."""
        declared = Declared(
            volumes=self.declared_volumes,
            secrets=self.declared_secrets,
            networks=self.declared_networks,
        )
        services = Services(
            self,
            service_keys=self.service_keys,
            declared=declared,
            dependency_paths=self.dependency_paths,
        )
        return services.read(document)
