"""A fake STS endpoint: AssumeRoleWithOIDC, as CI and ACK's RRSA call it.

It checks the OIDC token as STS does (a JWT signed RS256 by a registered OIDC provider, its
issuer, an audience among the provider's client ids, not expired) and answers with temporary
credentials of the role, issued from the fake OSS account's secret (fakeoss.sts) so fakeoss
accepts them with the role's policy. Refusals carry STS's status, code and message (STS's
error-code table for AssumeRoleWithOIDC). Other STS actions are refused, not imitated.

`FakeIdentityProvider` plays the forge (GitHub/GitLab) in tests: an RSA key that signs tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.wrappers import Request, Response

from .policy import Policy
from .sts import TokenIssuer

MIN_DURATION_SECONDS = 900


@dataclass(frozen=True)
class OidcProvider:
    """A RAM OIDC identity provider: its ARN, the issuer URL and the client ids it accepts."""

    arn: str
    issuer_url: str
    client_ids: tuple[str, ...]
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class Role:
    """A RAM role whose trust policy lets ``trusted_provider`` assume it."""

    arn: str
    policy: Policy
    trusted_provider: str
    max_session_duration: int = 3600


class StsRefusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeSts:
    issuer: TokenIssuer
    providers: Iterable[OidcProvider]
    roles: Iterable[Role]
    clock: Callable[[], float] = time.time
    _providers: dict[str, OidcProvider] = field(init=False)
    _roles: dict[str, Role] = field(init=False)

    def __post_init__(self) -> None:
        self._providers = {p.arn: p for p in self.providers}
        self._roles = {r.arn: r for r in self.roles}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request_id = str(uuid.uuid4()).upper()
        params = {**request.args.to_dict(), **request.form.to_dict()}
        try:
            body: dict[str, Any] = self.assume_role_with_oidc(params)
            status = 200
        except StsRefusal as refusal:
            status = refusal.status
            body = {"Code": refusal.code, "Message": refusal.message, "HostId": request.host}
        body["RequestId"] = request_id
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def assume_role_with_oidc(self, params: Mapping[str, str]) -> dict[str, Any]:
        action = params.get("Action", "")
        if action != "AssumeRoleWithOIDC":
            raise StsRefusal(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        for name in ("RoleArn", "OIDCProviderArn", "OIDCToken", "RoleSessionName"):
            if not params.get(name):
                raise StsRefusal(
                    400,
                    "MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this '
                    "request is not supplied.",
                )
        provider = self._providers.get(params["OIDCProviderArn"])
        if provider is None:
            raise StsRefusal(
                401, "AuthenticationFail.NoPermission", "No such OIDC Provider registered."
            )
        claims = _verified_claims(params["OIDCToken"], provider, self.clock())
        role = self._roles.get(params["RoleArn"])
        if role is None:
            raise StsRefusal(
                404, "EntityNotExist.Role", f"The role not exists: {params['RoleArn']}."
            )
        if role.trusted_provider != provider.arn:
            raise StsRefusal(401, "AuthenticationFail.NoPermission", "There is no permission")
        duration = _duration(params.get("DurationSeconds", "3600"), role.max_session_duration)
        credentials = self.issuer.issue(role.arn, role.policy, duration, self.clock())
        role_name = role.arn.rsplit("/", 1)[-1]
        return {
            "Credentials": {
                "AccessKeyId": credentials.access_key_id,
                "AccessKeySecret": credentials.access_key_secret,
                "SecurityToken": credentials.security_token,
                "Expiration": credentials.expiration_text,
            },
            "AssumedRoleUser": {
                "Arn": f"{role.arn}/{params['RoleSessionName']}",
                "AssumedRoleId": f"{role_name}:{params['RoleSessionName']}",
            },
            "OIDCTokenInfo": {
                "Issuer": claims.get("iss"),
                "Subject": claims.get("sub"),
                "ClientIds": ",".join(_audiences(claims)),
            },
        }


def _invalid(message: str) -> StsRefusal:
    return StsRefusal(401, "AuthenticationFail.OIDCToken.Invalid", message)


def _verified_claims(token: str, provider: OidcProvider, now: float) -> dict[str, Any]:
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise _invalid("The number of Jwt field should be divided into 3 parts with '.' .")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise _invalid("Cannot decode base64 encoded response(format invalided).") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _invalid("The Jwt content is invalid that cannot be recognized.")
    algorithm = header.get("alg")
    if algorithm != "RS256":
        raise _invalid(f"The algorithm {algorithm} that be specified in Jwt header is unknown.")
    signed = f"{parts[0]}.{parts[1]}".encode()
    try:
        provider.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise StsRefusal(
            401,
            "AuthenticationFail.OIDCToken.InvalidSignature",
            "OIDC token validate failed: invalid signature.",
        ) from None
    if claims.get("iss") != provider.issuer_url:
        raise _invalid("The issuer of the OIDC token is not the OIDC provider's issuer URL.")
    if not set(_audiences(claims)) & set(provider.client_ids):
        raise StsRefusal(401, "AuthenticationFail.OIDCToken.AudienceNotMatch", "Invalid audience.")
    expiry = claims.get("exp")
    if not isinstance(expiry, (int, float)) or expiry <= now:
        raise StsRefusal(
            401, "AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired."
        )
    return claims


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return [audience]
    return [a for a in audience if isinstance(a, str)] if isinstance(audience, list) else []


def _duration(text: str, longest: int) -> int:
    if not text.isdigit() or not MIN_DURATION_SECONDS <= int(text) <= longest:
        raise StsRefusal(
            400,
            "InvalidParameter.DurationSeconds",
            f"The Min/Max value of DurationSeconds is {MIN_DURATION_SECONDS}s/{longest}s.",
        )
    return int(text)


class FakeIdentityProvider:
    """An OIDC issuer for tests: mints RS256 tokens as a forge's CI does."""

    def __init__(self, issuer_url: str = "https://token.actions.githubusercontent.com") -> None:
        self.issuer_url = issuer_url
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def token(
        self,
        audience: str,
        *,
        subject: str = "repo:example/gallery:ref:refs/heads/main",
        lifetime: float = 300,
        now: float | None = None,
        issuer: str | None = None,
    ) -> str:
        now = time.time() if now is None else now
        header = {"alg": "RS256", "typ": "JWT", "kid": "fake"}
        claims = {
            "iss": issuer or self.issuer_url,
            "sub": subject,
            "aud": audience,
            "iat": int(now),
            "exp": int(now + lifetime),
        }
        signing_input = f"{_b64json(header)}.{_b64json(claims)}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def _b64json(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
