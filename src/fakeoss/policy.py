"""A small RAM policy: which OSS actions a credential may take on which buckets and keys.

The document is RAM's own (``{"Version": "1", "Statement": [{"Effect", "Action", "Resource"}]}``
with ``*`` and ``?`` wildcards, resources ``acs:oss:*:*:BUCKET`` and ``acs:oss:*:*:BUCKET/KEY``),
evaluated as RAM does: an explicit Deny wins, then any Allow, else the request is denied.
Conditions are not evaluated: a statement that has one is refused when the policy is read,
rather than applied without it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from .errors import OssError

# OSS's error pages 0003-00000201 (a Deny statement matched) and 0003-00000202 (no statement
# allows the action).
_EXPLICIT_DENY_EC = "0003-00000201"
_IMPLICIT_DENY_EC = "0003-00000202"


class PolicyError(ValueError):
    """The policy document cannot be used; str() says which part and why."""


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def matches(self, action: str, resource: str) -> bool:
        return any(_glob(a).fullmatch(action) for a in self.actions) and any(
            _glob(r).fullmatch(resource) for r in self.resources
        )


@dataclass(frozen=True)
class Policy:
    document: dict[str, Any]
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: Mapping[str, Any] | str) -> Policy:
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError as exc:
                raise PolicyError(f"policy is not JSON: {exc}") from None
        if not isinstance(document, Mapping):
            raise PolicyError("policy must be a JSON object with a Statement list")
        raw = document.get("Statement")
        if not isinstance(raw, list) or not raw:
            raise PolicyError("policy needs a non-empty Statement list")
        return cls(dict(document), tuple(_statement(i, s) for i, s in enumerate(raw)))

    @classmethod
    def allow_all(cls) -> Policy:
        return cls.parse({"Version": "1", "Statement": [_ALLOW_ALL]})

    @classmethod
    def bucket_read_write(cls, bucket: str, prefix: str = "") -> Policy:
        """What an app's role needs: its objects (under ``prefix``) and listing its bucket."""
        return cls.parse(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "oss:GetObject",
                            "oss:PutObject",
                            "oss:DeleteObject",
                            "oss:AbortMultipartUpload",
                            "oss:ListParts",
                        ],
                        "Resource": [f"acs:oss:*:*:{bucket}/{prefix}*"],
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["oss:ListObjects", "oss:GetBucketInfo"],
                        "Resource": [f"acs:oss:*:*:{bucket}"],
                    },
                ],
            }
        )

    def check(self, action: str, resource: str) -> None:
        """Raise OSS's AccessDenied unless this policy allows ``action`` on ``resource``."""
        matching = [s for s in self.statements if s.matches(action, resource)]
        if any(not s.allow for s in matching):
            raise _denied("Access denied by bucket policy.", _EXPLICIT_DENY_EC, action)
        if not matching:
            raise _denied("You are not authorized to do this action.", _IMPLICIT_DENY_EC, action)


_ALLOW_ALL = {"Effect": "Allow", "Action": ["oss:*"], "Resource": ["*"]}


def _statement(index: int, raw: object) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be an object")
    if "Condition" in raw:
        raise PolicyError(f"{where}: Condition is not supported by fakeoss")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect must be Allow or Deny, not {effect!r}")
    return Statement(
        effect == "Allow", _strings(raw, "Action", where), _strings(raw, "Resource", where)
    )


def _strings(raw: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where}.{name} must be a string or a list of strings")
    return tuple(values)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")))


def _denied(message: str, ec: str, action: str) -> OssError:
    error = OssError(403, "AccessDenied", message, AuthAction=action)
    error.ec = ec
    return error


# --- which action a request is ----------------------------------------------------------

_OBJECT_GET = {"acl": "GetObjectAcl", "tagging": "GetObjectTagging", "symlink": "GetSymlink",
               "uploadId": "ListParts"}  # fmt: skip
_OBJECT_PUT = {"acl": "PutObjectAcl", "tagging": "PutObjectTagging", "symlink": "PutSymlink"}
_OBJECT_POST = {"restore": "RestoreObject"}
_OBJECT_DELETE = {"uploadId": "AbortMultipartUpload", "tagging": "DeleteObjectTagging"}
_BUCKET_GET = {"acl": "GetBucketAcl", "bucketInfo": "GetBucketInfo",
               "location": "GetBucketLocation", "uploads": "ListMultipartUploads",
               "live": "ListLiveChannels", "stat": "GetBucketStat"}  # fmt: skip
_BUCKET_PUT = {"acl": "PutBucketAcl"}


def requested(
    method: str,
    bucket: str,
    key: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> list[tuple[str, str]]:
    """The (action, resource) pairs RAM checks for this request, as OSS names them."""
    if not bucket:
        return [("oss:ListBuckets", "acs:oss:*:*:*")]
    bucket_resource = f"acs:oss:*:*:{bucket}"
    if not key:
        if method == "POST" and "delete" in params:
            return [("oss:DeleteObject", f"{bucket_resource}/{k}") for k in _deleted_keys(body)]
        name = _bucket_action(method, params)
        return [(f"oss:{name}", bucket_resource)]
    object_resource = f"{bucket_resource}/{key}"
    pairs = [(f"oss:{_object_action(method, params)}", object_resource)]
    source = headers.get("x-oss-copy-source")
    if method == "PUT" and source:
        pairs.append(
            ("oss:GetObject", "acs:oss:*:*:" + unquote(source.split("?", 1)[0]).lstrip("/"))
        )
    return pairs


def _object_action(method: str, params: Mapping[str, str]) -> str:
    table = {"GET": _OBJECT_GET, "HEAD": {}, "PUT": _OBJECT_PUT, "POST": _OBJECT_POST,
             "DELETE": _OBJECT_DELETE}.get(method, {})  # fmt: skip
    for param, name in table.items():
        if param in params:
            return name
    if method in ("GET", "HEAD"):
        return "GetObject"
    if method == "DELETE":
        return "DeleteObject"
    # PutObject, AppendObject, multipart init/part/complete and copies all need PutObject.
    return "PutObject"


def _bucket_action(method: str, params: Mapping[str, str]) -> str:
    if method in ("GET", "HEAD"):
        for param, name in _BUCKET_GET.items():
            if param in params:
                return name
        return "GetBucketInfo" if method == "HEAD" else "ListObjects"
    if method == "PUT":
        for param, name in _BUCKET_PUT.items():
            if param in params:
                return name
        sub = next(iter(params), "")
        return f"PutBucket{sub[:1].upper()}{sub[1:]}"
    if method == "DELETE":
        sub = next(iter(params), "")
        return f"DeleteBucket{sub[:1].upper()}{sub[1:]}"
    return f"{method.title()}Bucket"


def _deleted_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - bodies come from local test clients
    except ElementTree.ParseError:
        return [""]  # the server answers MalformedXML; RAM only needs a resource to check
    keys = [element.text or "" for element in root.iter("Key")]
    return keys or [""]


def check_request(
    policy: Policy,
    method: str,
    bucket: str,
    key: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> None:
    """Raise OSS's AccessDenied unless ``policy`` allows every action the request takes."""
    for action, resource in requested(method, bucket, key, params, headers, body):
        policy.check(action, resource)
