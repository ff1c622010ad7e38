"""Temporary credentials as STS hands them out: an AccessKey pair and a security token.

The fake's STS is stateless, as STS's own tokens are to OSS: the token carries what it grants
(the role, a RAM policy, the expiry) and a signature made with the account's secret (the fake's
root AccessKey secret), and the temporary AccessKey secret is derived from its id with that same
secret. So any process holding the root secret (the local ECS metadata service, the fake STS
endpoint) issues credentials that fakeoss accepts without sharing any state with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import OssError
from .policy import Policy

ACCESS_KEY_PREFIX = "STS."
_TOKEN_PREFIX = "FAKESTS1."  # noqa: S105 (a format marker, not a secret)

# OSS's answers for a temporary credential it cannot use (its documentation's error pages
# 0002-00000006 and 0002-00000007; the codes and messages as OSS sends them).
_INVALID_TOKEN_EC = "0002-00000006"  # noqa: S105 (an error code)
_EXPIRED_TOKEN_EC = "0002-00000007"  # noqa: S105 (an error code)


def invalid_security_token() -> OssError:
    error = OssError(403, "InvalidSecurityToken", "The security token you provided is invalid.")
    error.ec = _INVALID_TOKEN_EC
    return error


def security_token_expired() -> OssError:
    error = OssError(403, "SecurityTokenExpired", "The security token you provided has expired.")
    error.ec = _EXPIRED_TOKEN_EC
    return error


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expiration: float  # Unix time

    @property
    def expiration_text(self) -> str:
        """The expiry as STS and the metadata service write it: 2026-12-06T20:00:00Z."""
        moment = datetime.fromtimestamp(int(self.expiration), tz=timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Grant:
    """What a verified token lets its holder do."""

    role: str
    policy: Policy
    expiration: float


class TokenIssuer:
    """Issues and verifies temporary credentials of one account (its root secret)."""

    def __init__(self, account_secret: str) -> None:
        self._key = hashlib.sha256(b"fakeoss-sts:" + account_secret.encode()).digest()

    def issue(
        self, role: str, policy: Policy, lifetime: float, now: float | None = None
    ) -> TemporaryCredentials:
        now = time.time() if now is None else now
        access_key_id = ACCESS_KEY_PREFIX + secrets.token_hex(12)
        expiration = float(int(now + lifetime))
        claims = {"akid": access_key_id, "role": role, "exp": expiration, "policy": policy.document}
        payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        token = f"{_TOKEN_PREFIX}{payload}.{_b64(self._sign(payload.encode()))}"
        return TemporaryCredentials(access_key_id, self.secret_of(access_key_id), token, expiration)

    def secret_of(self, access_key_id: str) -> str:
        return _b64(self._sign(b"secret:" + access_key_id.encode()))

    def verify(self, access_key_id: str, token: str, now: float | None = None) -> Grant:
        """The grant a request signed with ``access_key_id`` and carrying ``token`` has.

        Raises OssError as OSS answers: a token that is not one of ours, or not issued with
        this AccessKey id, is invalid; one past its expiry has expired.
        """
        now = time.time() if now is None else now
        claims = self._claims(token)
        if claims is None or claims.get("akid") != access_key_id:
            raise invalid_security_token()
        try:
            expiration = float(claims["exp"])
            policy = Policy.parse(claims["policy"])
            role = str(claims["role"])
        except (KeyError, TypeError, ValueError):
            raise invalid_security_token() from None
        if expiration <= now:
            raise security_token_expired()
        return Grant(role, policy, expiration)

    def _claims(self, token: str) -> dict[str, Any] | None:
        if not token.startswith(_TOKEN_PREFIX):
            return None
        payload, sep, signature = token[len(_TOKEN_PREFIX) :].partition(".")
        if not sep:
            return None
        expected = _b64(self._sign(payload.encode()))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return None
        try:
            claims = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return None
        return claims if isinstance(claims, dict) else None

    def _sign(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()


def is_temporary(access_key_id: str) -> bool:
    return access_key_id.startswith(ACCESS_KEY_PREFIX)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
