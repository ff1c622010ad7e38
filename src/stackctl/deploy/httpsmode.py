"""The HTTPS mode of a deploy and what it merges over compose.yaml (README "HTTPS"): read by the
deploy's settings and its app definition, before either exists (`deploy/https.py` checks each
host's certificates against them)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stackctl.errors import SettingsError
from stackctl.tls.overrides import compose_environment, override_file
from stackctl.tls.settings import HttpsSettings, load_https_settings

DEPLOY_MODES = ("off", "acme", "files", "lb")


def load_deploy_https(
    project_dir: Path, environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> HttpsSettings:
    """The deploy's HTTPS settings: DEPLOY_HTTPS, else STACK_HTTPS, and the local stack's other
    settings. Host names are checked per host later (`check_https`): they may come from
    compose.yaml's `x-deploy.https-hosts`."""
    name = "DEPLOY_HTTPS" if environ.get("DEPLOY_HTTPS") or dotenv.get("DEPLOY_HTTPS") else ""
    name = name or "STACK_HTTPS"
    mode = environ.get(name) or dotenv.get(name) or "off"
    if mode == "local":
        raise SettingsError(
            f"{name}=local is `invoke up`'s own CA, which no visitor trusts: set"
            " DEPLOY_HTTPS=acme, files or lb for deploys (or DEPLOY_HTTPS=off)"
        )
    if mode not in DEPLOY_MODES:
        raise SettingsError(f"{name}={mode!r} is invalid: use one of {', '.join(DEPLOY_MODES)}")
    # The values checked as `invoke up` checks them; the mode's needs come per host.
    found = load_https_settings(
        project_dir, {**environ, "STACK_HTTPS": "off"}, {**dotenv, "STACK_HTTPS": "off"}
    )
    return found.model_copy(update={"mode": mode})


def app_overrides(https: HttpsSettings, project_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """The mode's override file (the local stack's own) and the values it is read with."""
    found = override_file(https, project_dir)
    if found is None:
        return [], {}
    return [found], compose_environment(https, project_dir)
