"""Each host's audit log (Kamal's auditor): who (local user and machine), when, what command, what
version and its result, one line per deploy, rollback and accessory action on the host it
touched; `invoke deploy.audit` shows it.

Where it lives: a named volume `<app>-deploy-audit` holding `audit.log`, mounted into a
never-started container of the lock's empty image. The engine's archive API reads and writes a
file there (it mounts a stopped container's volumes for that), so nothing is installed or run on
the host, and an operator on the host finds the file under /var/lib/docker/volumes/. A write reads
the file and puts it back with the new line: the actions that write it hold the host's deploy
lock, so two writers do not meet. Entries are JSON lines (a message with a newline or a quote
stays one entry); the log keeps its last MAX_ENTRIES.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.engine.models import volumes

if TYPE_CHECKING:
    import docker

    from stackctl.deploy.settings import DeploySettings

AUDIT_DIR = "/audit"
AUDIT_FILE = "audit.log"
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class AuditEntry:
    at: float
    who: str
    """`user@machine` of whoever ran the command (the lock holder's name)."""
    command: str
    version: str
    result: str
    """`ok`, or `failed: <the error's line>`."""
    message: str = ""

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_line(cls, line: str) -> AuditEntry | None:
        """An entry back from its line; None for a line that is not one (kept, not fatal)."""
        try:
            found = json.loads(line)
            return cls(
                at=float(found["at"]),
                who=str(found["who"]),
                command=str(found["command"]),
                version=str(found["version"]),
                result=str(found["result"]),
                message=str(found.get("message", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        text = f"{when}  {self.who}  {self.command}  {self.version or '-'}  {self.result}"
        return f"{text}  ({self.message})" if self.message else text


def result_of(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    words = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"failed: {words}"


def appended(existing: str, entry: AuditEntry, keep: int = MAX_ENTRIES) -> str:
    """The log's text with `entry` added, trimmed to its last `keep` entries."""
    lines = [line for line in existing.splitlines() if line.strip()]
    lines.append(entry.to_line())
    return "\n".join(lines[-keep:]) + "\n"


def entries(text: str) -> list[AuditEntry]:
    found = (AuditEntry.from_line(line) for line in text.splitlines() if line.strip())
    return [e for e in found if e is not None]


def shown(where: str, found: list[AuditEntry], tail: int | None) -> list[str]:
    """A host's (or swarm's) heading and its last `tail` entries (all when None), oldest first."""
    last = found if tail is None else found[-tail:] if tail else []
    return [f"{where}:"] + ([f"  {e.describe()}" for e in last] or ["  (nothing recorded)"])


def container_name(app: str) -> str:
    return f"{app}-deploy-audit"


def _ensure_container(client: docker.DockerClient, app: str) -> str:
    from docker.errors import APIError, NotFound
    from docker.types import Mount

    from stackctl.deploy.lock import LOCK_IMAGE, ensure_lock_image

    name = container_name(app)
    with contextlib.suppress(NotFound):
        client.api.inspect_container(name)
        return name
    ensure_lock_image(client)
    volume = container_name(app)
    if volume not in [v.name for v in volumes(client.api, filters={"name": volume})]:
        client.api.create_volume(volume, labels={labels.APP: app, labels.ROLE: "audit"})
    try:
        client.api.create_container(
            LOCK_IMAGE,
            name=name,
            labels={labels.APP: app, labels.ROLE: "audit"},
            host_config=client.api.create_host_config(
                mounts=[Mount(AUDIT_DIR, volume, type="volume")]
            ),
        )
    except APIError as exc:
        if exc.status_code != 409:  # made meanwhile by another command: the same thing
            raise
    return name


def _read_text(client: docker.DockerClient, name: str) -> str:
    from docker.errors import NotFound

    try:
        stream, _stat = client.api.get_archive(name, f"{AUDIT_DIR}/{AUDIT_FILE}")
    except NotFound:
        return ""
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(AUDIT_FILE)
        return member.read().decode("utf-8", "replace") if member else ""


def append(client: docker.DockerClient, app: str, entry: AuditEntry) -> None:
    name = _ensure_container(client, app)
    data = appended(_read_text(client, name), entry).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(AUDIT_FILE)
        info.size, info.mode, info.mtime = len(data), 0o644, int(entry.at)
        archive.addfile(info, io.BytesIO(data))
    client.api.put_archive(name, AUDIT_DIR, buffer.getvalue())


def read(client: docker.DockerClient, app: str) -> list[AuditEntry]:
    """The host's entries, oldest first (none when nothing was ever recorded there)."""
    from docker.errors import NotFound

    try:
        client.api.inspect_container(container_name(app))
    except NotFound:
        return []
    return entries(_read_text(client, container_name(app)))


def record(
    client: docker.DockerClient, app: str, host: str, entry: AuditEntry, say: Callable[[str], None]
) -> None:
    """Append `entry`; a failure to write is said on one line and does not change the result of
    the action it records."""
    try:
        append(client, app, entry)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(f"{host}: the audit log was not written ({reason})")


@dataclass
class Recording:
    """What an action learns while it runs (the version a rollback goes to)."""

    version: str
    message: str = ""
    result: str = ""
    """The outcome when the block ended without an error but not `ok` (a command's non-zero
    exit: `exited`); empty: `ok` or the error's line."""


def exited(code: int) -> str:
    """A command's exit status as an audit result (`deploy.exec`, both targets)."""
    return "ok" if code == 0 else f"failed: exited with code {code}"


@contextlib.contextmanager
def _recording(
    write: Callable[[AuditEntry], None],
    *,
    who: str,
    command: str,
    version: str,
    message: str,
    clock: Callable[[], float],
) -> Iterator[Recording]:
    """The block's action handed to `write` when it ends: ok, or failed with its error."""
    note = Recording(version, message)
    error: BaseException | None = None
    try:
        yield note
    except BaseException as exc:
        error = exc
        raise
    finally:
        result = note.result if error is None and note.result else result_of(error)
        write(AuditEntry(clock(), who, command, note.version, result, note.message))


def recorded(
    client: docker.DockerClient,
    app: str,
    host: str,
    say: Callable[[str], None],
    *,
    who: str,
    command: str,
    version: str,
    message: str = "",
    clock: Callable[[], float] = time.time,
) -> contextlib.AbstractContextManager[Recording]:
    """The block's action recorded on the host when it ends: ok, or failed with its error."""
    return _recording(
        lambda entry: record(client, app, host, entry, say),
        who=who,
        command=command,
        version=version,
        message=message,
        clock=clock,
    )


def record_on_hosts(
    settings: DeploySettings, entry: AuditEntry, say: Callable[[str], None]
) -> None:
    """`entry` appended on every host side by side (the Swarm target: each node keeps a copy)."""
    from stackctl.deploy import fanout

    try:
        with fanout.connected(settings) as clients:
            fanout.side_by_side(
                list(clients.items()),
                lambda item: record(item[1], settings.app, item[0].name, entry, say),
                limit=fanout.MAX_CONNECTING,
            )
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(f"the audit log was not written ({reason})")


def recorded_on_hosts(
    settings: DeploySettings,
    say: Callable[[str], None],
    *,
    who: str,
    command: str,
    version: str,
    message: str = "",
    clock: Callable[[], float] = time.time,
) -> contextlib.AbstractContextManager[Recording]:
    """The block's action recorded on every host when it ends (`recorded`, for a whole swarm)."""
    return _recording(
        lambda entry: record_on_hosts(settings, entry, say),
        who=who,
        command=command,
        version=version,
        message=message,
        clock=clock,
    )
