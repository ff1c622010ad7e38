"""Upload callbacks (``x-oss-callback``): after storing an object, OSS POSTs to the app.

The callback is base64 JSON (``callbackUrl``, ``callbackBody`` with ``${bucket}``,
``${object}``, ``${etag}``, ``${size}``, ``${mimeType}``, ``${crc64}`` and ``${x:var}``
from ``x-oss-callback-var``, ``callbackBodyType``), as a header or a signed URL's
``callback`` parameter. The callback server's 200 JSON answer is the upload's answer; any
other outcome is 203 ``CallbackFailed``, the object stored all the same.

This fake calls servers on the loopback address only (127.0.0.1, ::1, localhost), and sends
no OSS signature (``authorization``, ``x-oss-pub-key-url``): a callback server that checks
OSS's RSA signature cannot be tested against it. A callback aimed anywhere else fails as an
unreachable one does on OSS: 203 CallbackFailed, with a message that says why.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from .errors import OssError, invalid_argument

TIMEOUT_SECONDS = 5.0
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Callback:
    url: str
    body: str
    body_type: str = "application/x-www-form-urlencoded"
    host: str = ""
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    body: bytes  # the callback server's answer, or why it failed


def _decode_json(value: str, header: str) -> dict[str, object]:
    try:
        decoded = json.loads(base64.b64decode(value.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeError, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise invalid_argument("The callback configuration is not json format.", header, value)
    return decoded


def parse(headers: dict[str, str], params: dict[str, str]) -> Callback | None:
    given = headers.get("x-oss-callback") or params.get("callback")
    if not given:
        return None
    config = _decode_json(given, "x-oss-callback")
    url = str(config.get("callbackUrl") or "").split(";", 1)[0].strip()
    body = str(config.get("callbackBody") or "")
    if not url or not body:
        raise invalid_argument(
            "The callback needs callbackUrl and callbackBody.", "x-oss-callback", given
        )
    body_type = str(config.get("callbackBodyType") or "application/x-www-form-urlencoded")
    if body_type not in ("application/x-www-form-urlencoded", "application/json"):
        raise invalid_argument("callbackBodyType is not supported.", "x-oss-callback", body_type)
    given_vars = headers.get("x-oss-callback-var") or params.get("callback-var")
    variables = _decode_json(given_vars, "x-oss-callback-var") if given_vars else {}
    return Callback(
        url=url if "://" in url else "http://" + url,
        body=body,
        body_type=body_type,
        host=str(config.get("callbackHost") or ""),
        variables={k: str(v) for k, v in variables.items() if k.startswith("x:")},
    )


def render(callback: Callback, values: dict[str, str]) -> bytes:
    """The body with its ``${...}`` filled in (URL-encoded in a form body, as OSS does)."""
    form = callback.body_type == "application/x-www-form-urlencoded"

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name, callback.variables.get(name, ""))
        return quote(value, safe="") if form else value

    return _VARIABLE.sub(fill, callback.body).encode()


def call(callback: Callback, body: bytes) -> Outcome:
    parts = urlsplit(callback.url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return Outcome(False, f"callbackUrl must be http or https, not {parts.scheme}".encode())
    if host not in LOOPBACK:
        return Outcome(False, f"fakeoss calls back on 127.0.0.1 only, not {host}".encode())
    headers = {"Content-Type": callback.body_type}
    if callback.host:
        headers["Host"] = callback.host
    # S310: the scheme is http(s), checked above.
    request = urllib.request.Request(callback.url, body, headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = response.read()
    except urllib.error.HTTPError as error:
        return Outcome(False, f"Error status : {error.code}.".encode())
    except (urllib.error.URLError, OSError) as error:
        return Outcome(False, f"Error status : -1. {error}".encode())
    try:
        json.loads(answer)
    except ValueError:
        return Outcome(False, b"Response body is not valid json format.")
    return Outcome(True, answer)


def failed(outcome: Outcome, headers: dict[str, str]) -> OssError:
    """The answer to an upload whose callback failed: stored, 203, the write's headers."""
    message = outcome.body.decode("utf-8", "replace")
    return OssError(203, "CallbackFailed", message, headers=headers)
