"""A release's secrets, one type for both targets: each given to a container as a file under
/run/secrets, never as environment or labels (the SSH deploy fills a volume before the start:
`secretfiles.py`; Swarm keeps them as Swarm secrets: `swarm/secrets.py`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from stackctl.compose import Project, ServiceSpec

DEFAULT_MODE = 0o400
_ROUNDS = 50_000


@dataclass(frozen=True)
class Secret:
    file_name: str
    """The file under /run/secrets (the setting's name for the app)."""
    content: bytes
    uid: str | None
    gid: str | None
    mode: int

    def object_name(self, app: str) -> str:
        """A name that changes with the content, for a store whose secrets cannot change
        (Swarm). The fingerprint is a slow salted hash (PBKDF2), so the name does not offer a
        cheap way to test guesses of the value."""
        salt = f"{app}/{self.file_name}".encode()
        digest = hashlib.pbkdf2_hmac("sha256", self.content, salt, _ROUNDS)[:6].hex()
        return f"{app}_{self.file_name}_{digest}"[:64]


def secret_files(project: Project, spec: ServiceSpec) -> list[Secret]:
    """The service's compose secrets, read from their files now (compose checked they exist)."""
    return [
        Secret(
            file_name=secret.file_name,
            content=project.secrets[secret.source].read_bytes(),
            uid=secret.uid,
            gid=secret.gid,
            mode=secret.mode if secret.mode is not None else DEFAULT_MODE,
        )
        for secret in spec.secrets
    ]


def service_secrets(project: Project, spec: ServiceSpec, values: Mapping[str, str]) -> list[Secret]:
    """The compose secret files of the service, then `values` (the deploy's secrets file and
    named environment secrets) for names it does not already get as a file."""
    found = secret_files(project, spec)
    names = {s.file_name for s in found}
    found += [
        Secret(name, value.encode(), None, None, DEFAULT_MODE)
        for name, value in sorted(values.items())
        if name not in names
    ]
    return found
