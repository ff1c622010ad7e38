"""Small, real probes of this machine for `invoke doctor`: a port, a URL, an interpreter.

Each answers one question without side effects that outlive it, and is replaced by a stub in
unit tests.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def bind_error(host_ip: str, port: int, protocol: str = "tcp") -> int | None:
    """The errno binding host_ip:port fails with (EADDRINUSE: taken), None when it is free.

    SO_REUSEADDR like a server sets it: a port with only TIME_WAIT connections left is free,
    a port someone listens on is not.
    """
    address = host_ip or "0.0.0.0"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            return exc.errno or errno.EINVAL
    return None


def shown_url(url: str) -> str:
    """A URL as it may be printed: credentials in it (a private index's user:token@) never are."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def head_error(url: str, timeout: float) -> str | None:
    """Why a HEAD of `url` failed (one short phrase), None when it answered below 400.

    Only public addresses are contacted: a host (or proxy) that resolves to a private network
    address is reported, not probed.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    target = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(target):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        target, port = proxy_parts.hostname or target, proxy_parts.port or 80
    try:
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(target, port, type=socket.SOCK_STREAM)
        }
    except OSError as exc:
        return f"cannot resolve {target} ({exc.strerror or exc})"
    if any(_private(address) for address in addresses):
        return f"{target} resolves to a 10.x/172.x/192.168.x address: not probed"
    request = urllib.request.Request(url, method="HEAD")  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"no answer ({str(reason).splitlines()[0][:120]})"
    return f"answered HTTP {status}" if status >= 400 else None


# Never contacted from here: private networks, Docker's bridges (172.x) and link-local.
_NOT_PROBED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.0.0.0/8",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return any(ip in net for net in _NOT_PROBED)


def runnable_python(version: str) -> str | None:
    """The path of `python{version}` on PATH if it runs (a pyenv shim of an inactive version
    is found by `which` but fails), else None."""
    path = shutil.which(f"python{version}")
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, "-c", ""], capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if done.returncode == 0 else None


def pyenv_versions(environ: Mapping[str, str]) -> list[str]:
    """The Python versions pyenv has installed (e.g. 3.11.7), empty without pyenv."""
    root = Path(environ.get("PYENV_ROOT") or Path(os.path.expanduser("~")) / ".pyenv")
    versions = root / "versions"
    if not versions.is_dir():
        return []
    return sorted(entry.name for entry in versions.iterdir() if entry.is_dir())
