"""HTTPS settings, one validated place, read like the stack's own (environment, then .env).

STACK_HTTPS chooses the mode; the others say what that mode needs. README "HTTPS" names them all.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from stackctl.errors import SettingsError

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
ONE_YEAR = 365 * 24 * 3600
_HOST_NAME = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)

Mode = Literal["off", "local", "files", "acme", "lb"]


def default_ca_dir() -> Path:
    """Where the machine's local CA lives (as mkcert's CAROOT): one root for every project."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stackctl" / "ca"


class HttpsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # off: plain HTTP (the default of `invoke up`); local: the machine's CA; files: a bought
    # certificate; acme: automatic certificates; lb: a load balancer terminates TLS.
    mode: Mode = "off"
    # The host names served (certificate names; ACME orders them; `local` adds 127.0.0.1).
    hosts: tuple[str, ...] = ()
    # Where `invoke up` publishes port 443 (on NGINX_HOST) in the TLS modes.
    https_port: int = Field(default=8443, ge=1, le=65535)
    # Strict-Transport-Security max-age in seconds; 0 sends none (never sent in `local`).
    hsts_max_age: int = Field(default=ONE_YEAR, ge=0)
    cert_file: Path | None = None
    key_file: Path | None = None
    ca_dir: Path = Field(default_factory=default_ca_dir)
    acme_directory: str = Field(default=LETS_ENCRYPT, pattern=r"^https://\S+$")
    acme_email: str = Field(default="", pattern=r"^([^@\s]+@[^@\s]+)?$")
    # External account binding (ZeroSSL, Google Trust Services, ...): both or neither.
    acme_eab_kid: str = ""
    acme_eab_hmac_key: SecretStr = SecretStr("")
    # How long before its expiry a certificate is renewed (certbot's span: "30 days", "1 hour").
    acme_renew_before: str = Field(
        default="30 days", pattern=r"^[1-9][0-9]* (seconds?|minutes?|hours?|days?|weeks?)$"
    )
    # A CA bundle the ACME client trusts for the directory (a private or test ACME server).
    acme_ca_bundle: Path | None = None
    # Addresses or CIDR ranges of the load balancer whose X-Forwarded-* nginx believes (lb).
    trusted_lb_addresses: tuple[str, ...] = ()

    @field_validator("hosts", "trusted_lb_addresses", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part for part in re.split(r"[,\s]+", value.strip()) if part)
        return value

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            problem = host_name_problem(host)
            if problem:
                raise ValueError(f"{host!r} {problem}")
        return tuple(host.lower() for host in hosts)

    @field_validator("trusted_lb_addresses")
    @classmethod
    def _networks(cls, addresses: tuple[str, ...]) -> tuple[str, ...]:
        for address in addresses:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(f"{address!r} is not an address or CIDR range") from None
        return addresses

    @property
    def serves_tls(self) -> bool:
        """nginx itself terminates TLS (port 443)."""
        return self.mode in ("local", "files", "acme")


def host_name_problem(host: str) -> str | None:
    """Why `host` cannot be a certificate's name (None: it can)."""
    if _is_address(host) or _HOST_NAME.match(host.lower()):
        return None
    return "is not a host name such as www.example.com"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


ENV_NAMES = {
    "STACK_HTTPS": "mode",
    "HTTPS_HOSTS": "hosts",
    "NGINX_HTTPS_PORT": "https_port",
    "HSTS_MAX_AGE": "hsts_max_age",
    "TLS_CERT_FILE": "cert_file",
    "TLS_KEY_FILE": "key_file",
    "STACK_CA_DIR": "ca_dir",
    "ACME_DIRECTORY": "acme_directory",
    "ACME_EMAIL": "acme_email",
    "ACME_EAB_KID": "acme_eab_kid",
    "ACME_EAB_HMAC_KEY": "acme_eab_hmac_key",
    "ACME_RENEW_BEFORE": "acme_renew_before",
    "ACME_CA_BUNDLE": "acme_ca_bundle",
    "TRUSTED_LB_ADDRESSES": "trusted_lb_addresses",
}
_SECRETS = {"ACME_EAB_HMAC_KEY"}


def load_https_settings(
    project_dir: Path, environ: Mapping[str, str], dotenv: Mapping[str, str] | None = None
) -> HttpsSettings:
    """From the environment, then .env; relative file paths are the project folder's."""
    dotenv = dotenv or {}
    values: dict[str, object] = {}
    for env_name, field in ENV_NAMES.items():
        raw = environ.get(env_name, dotenv.get(env_name))
        if raw not in (None, ""):
            values[field] = raw
    for field in ("cert_file", "key_file", "acme_ca_bundle", "ca_dir"):
        if field in values:
            values[field] = project_dir / str(values[field])
    try:
        found = HttpsSettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        env_name = next((k for k, v in ENV_NAMES.items() if v == field), field)
        shown = "(hidden)" if env_name in _SECRETS else repr(values.get(field))
        raise SettingsError(f"setting {env_name}={shown} is invalid: {err['msg']}") from None
    check_mode_needs(found)
    return found


def check_mode_needs(found: HttpsSettings) -> None:
    """What the mode needs besides the values' own checks (a deploy: with each host's names)."""
    if found.mode == "files" and (found.cert_file is None or found.key_file is None):
        raise SettingsError(
            "STACK_HTTPS=files needs TLS_CERT_FILE (the PEM chain) and TLS_KEY_FILE (its key)"
        )
    if found.mode == "acme":
        if not found.hosts:
            raise SettingsError(
                "STACK_HTTPS=acme needs HTTPS_HOSTS: the host names to obtain a certificate for"
            )
        unfit = [h for h in found.hosts if _is_address(h) or h.startswith("*.")]
        if unfit:
            raise SettingsError(
                f"HTTPS_HOSTS={','.join(found.hosts)}: {unfit[0]} cannot be validated by HTTP-01"
                " (an address or a wildcard): name each host, or give a certificate"
                " (STACK_HTTPS=files)"
            )
    if bool(found.acme_eab_kid) != bool(found.acme_eab_hmac_key.get_secret_value()):
        raise SettingsError(
            "ACME_EAB_KID and ACME_EAB_HMAC_KEY go together: give both (from the CA's account"
            " page) or neither"
        )
    if found.mode == "lb" and not found.trusted_lb_addresses:
        raise SettingsError(
            "STACK_HTTPS=lb needs TRUSTED_LB_ADDRESSES: the load balancer's addresses or ranges"
            " (e.g. 100.64.0.0/10 for an Alibaba Cloud SLB), whose X-Forwarded-Proto is believed"
        )
