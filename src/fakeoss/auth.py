"""Request authentication as OSS does it: V1 and V4 header signatures and signed URLs.

The expected signature is computed by oss2's own signing code, fed with a request
rebuilt from what arrived, so the fake agrees with the SDK byte for byte. Those
methods are name-mangled privates of oss2 (hence the narrow oss2 pin in pyproject).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import oss2
import oss2.http
from oss2.credentials import Credentials, StaticCredentialsProvider

from .errors import OssError, access_denied
from .policy import Policy
from .sts import TokenIssuer, is_temporary

# OSS refuses requests whose Date is further than this from its clock.
MAX_CLOCK_SKEW_SECONDS = 15 * 60
# A V4 signed URL may live at most seven days.
MAX_V4_URL_EXPIRES_SECONDS = 7 * 24 * 3600

_V1_URL_PARAMS = frozenset({"OSSAccessKeyId", "Expires", "Signature"})


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as the server received it."""

    method: str
    bucket: str
    key: str
    params: Mapping[str, str]
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Principal:
    """Who signed a request: the account's own key (everything allowed) or a temporary
    credential, with the RAM policy its token carries."""

    credentials: Credentials
    policy: Policy
    role: str = ""


class Authenticator:
    """Checks that a request was signed with the account's key pair, or with temporary
    credentials issued from it (STS: an AccessKey pair and a security token)."""

    def __init__(self, access_key_id: str, access_key_secret: str, region: str) -> None:
        self._access_key_id = access_key_id
        self._region = region
        self._root = Principal(Credentials(access_key_id, access_key_secret), Policy.allow_all())
        self._issuer = TokenIssuer(access_key_secret)
        provider = StaticCredentialsProvider(access_key_id, access_key_secret)
        self._v1 = oss2.ProviderAuth(provider)
        self._v2 = oss2.ProviderAuthV2(provider)
        self._v4 = oss2.ProviderAuthV4(provider)

    def authenticate(self, req: SignedRequest, now: float | None = None) -> Principal | None:
        """Return who signed a correctly signed request, None for an anonymous one.

        Raises OssError for a request that carries a signature that does not hold, or a
        temporary credential that is unknown or expired.
        """
        now = time.time() if now is None else now
        req = SignedRequest(req.method, req.bucket, req.key, req.params, _as_signed(req.headers))
        authorization = req.headers.get("authorization", "")
        if authorization.startswith("OSS4-HMAC-SHA256 "):
            return self._check_v4_header(req, authorization, now)
        if authorization.startswith("OSS "):
            return self._check_v1_header(req, authorization, now)
        if authorization.startswith("OSS2 "):
            return self._check_v2_header(req, authorization, now)
        if authorization:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.")
        if req.params.get("x-oss-signature-version") == "OSS2":
            return self._check_v2_url(req, now)
        if "Signature" in req.params:
            return self._check_v1_url(req, now)
        if req.params.get("x-oss-signature-version") == "OSS4-HMAC-SHA256":
            return self._check_v4_url(req, now)
        return None

    def _check_key_id(self, key_id: str, token: str, now: float) -> Principal:
        # A security token makes it an STS request: OSS then looks the id up among temporary
        # credentials only, and a temporary id without its token is unknown.
        if token and is_temporary(key_id):
            grant = self._issuer.verify(key_id, token, now)
            credentials = Credentials(key_id, self._issuer.secret_of(key_id), token)
            return Principal(credentials, grant.policy, grant.role)
        if not token and hmac.compare_digest(key_id.encode(), self._access_key_id.encode()):
            return self._root
        raise OssError(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
            OSSAccessKeyId=key_id,
        )

    def _check_url(
        self, req: SignedRequest, now: float, *, key_id: str, expires: str
    ) -> tuple[Principal, dict[str, str]]:
        """A V1 or V2 signed URL's principal (the query names ``key_id`` and ``expires``) and
        the headers it was signed with: the expiry time stands in the Date header's place."""
        token = req.params.get("security-token", "")
        principal = self._check_key_id(req.params.get(key_id, ""), token, now)
        expiry = req.params.get(expires, "")
        if not expiry.isdigit():
            raise access_denied(f"Invalid {expires} parameter in the signed URL.")
        if int(expiry) < now:
            raise access_denied("Request has expired.")
        headers = {k: v for k, v in req.headers.items() if k != "x-oss-date"}
        headers["date"] = expiry
        return principal, headers

    def _check_scope(self, scope: _V4Scope) -> None:
        # OSS checks the scope before the signature: a wrong region is named as such.
        if scope.region != self._region:
            raise access_denied("The signing region in credential is invalid.")
        if scope.product != "oss":
            raise access_denied("The signing product in credential is invalid.")

    def _compare(self, expected: str, given: str) -> None:
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise OssError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
            )

    # --- V1 -----------------------------------------------------------------

    def _check_v1_header(self, req: SignedRequest, authorization: str, now: float) -> Principal:
        key_id, sep, signature = authorization[len("OSS ") :].rpartition(":")
        if not sep:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.")
        token = req.headers.get("x-oss-security-token", "")
        principal = self._check_key_id(key_id.strip(), token, now)
        date = req.headers.get("x-oss-date") or req.headers.get("date", "")
        _check_http_date(date, now)
        expected = self._v1_signature(
            req.method, req.bucket, req.key, req.params, req.headers, principal.credentials
        )
        self._compare(expected, signature.strip())
        return principal

    def _check_v1_url(self, req: SignedRequest, now: float) -> Principal:
        principal, headers = self._check_url(req, now, key_id="OSSAccessKeyId", expires="Expires")
        # oss2 signs a URL before it adds the three authentication parameters to the query.
        params = {k: v for k, v in req.params.items() if k not in _V1_URL_PARAMS}
        expected = self._v1_signature(
            req.method, req.bucket, req.key, params, headers, principal.credentials
        )
        self._compare(expected, req.params.get("Signature", ""))
        return principal

    def _v1_signature(
        self,
        method: str,
        bucket: str,
        key: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        credentials: Credentials,
    ) -> str:
        rebuilt = _oss2_request(method, params, headers)
        # oss2 has no public signer; its own keeps the fake byte for byte with the SDK.
        make: Any = self._v1._ProviderAuth__make_signature  # noqa: SLF001
        return str(make(rebuilt, bucket, key, credentials))

    # --- V2 (HMAC-SHA256, every query parameter and the additional headers signed) ----

    def _check_v2_header(self, req: SignedRequest, authorization: str, now: float) -> Principal:
        fields = dict(
            item.strip().partition(":")[::2] for item in authorization[len("OSS2 ") :].split(",")
        )
        token = req.headers.get("x-oss-security-token", "")
        principal = self._check_key_id(fields.get("AccessKeyId", ""), token, now)
        _check_http_date(req.headers.get("x-oss-date") or req.headers.get("date", ""), now)
        additional = set(_split_additional(fields.get("AdditionalHeaders", "")) or [])
        expected = self._v2_signature(
            req, req.params, req.headers, additional, principal.credentials
        )
        self._compare(expected, fields.get("Signature", ""))
        return principal

    def _check_v2_url(self, req: SignedRequest, now: float) -> Principal:
        principal, headers = self._check_url(
            req, now, key_id="x-oss-access-key-id", expires="x-oss-expires"
        )
        additional = set(_split_additional(req.params.get("x-oss-additional-headers", "")) or [])
        params = {k: v for k, v in req.params.items() if k != "x-oss-signature"}
        expected = self._v2_signature(req, params, headers, additional, principal.credentials)
        self._compare(expected, req.params.get("x-oss-signature", ""))
        return principal

    def _v2_signature(
        self,
        req: SignedRequest,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        additional: set[str],
        credentials: Credentials,
    ) -> str:
        rebuilt = _oss2_request(req.method, params, headers)
        # oss2 has no public signer; its own keeps the fake byte for byte with the SDK.
        make: Any = self._v2._ProviderAuthV2__make_signature  # noqa: SLF001
        return str(make(rebuilt, req.bucket, req.key, additional, credentials))

    # --- V4 -----------------------------------------------------------------

    def _check_v4_header(self, req: SignedRequest, authorization: str, now: float) -> Principal:
        fields = _parse_v4_authorization(authorization)
        scope = _V4Scope.parse(fields.get("Credential", ""))
        token = req.headers.get("x-oss-security-token", "")
        principal = self._check_key_id(scope.access_key_id, token, now)
        self._check_scope(scope)
        date_time = req.headers.get("x-oss-date", "")
        signed_at = _parse_v4_date(date_time)
        if abs(signed_at - now) > MAX_CLOCK_SKEW_SECONDS:
            raise _time_too_skewed()
        additional = _split_additional(fields.get("AdditionalHeaders", ""))
        expected = self._v4_signature(
            req, req.params, scope, additional, date_time, principal.credentials
        )
        self._compare(expected, fields.get("Signature", ""))
        return principal

    def _check_v4_url(self, req: SignedRequest, now: float) -> Principal:
        scope = _V4Scope.parse(req.params.get("x-oss-credential", ""))
        token = req.params.get("x-oss-security-token", "")
        principal = self._check_key_id(scope.access_key_id, token, now)
        self._check_scope(scope)
        date_time = req.params.get("x-oss-date", "")
        expires = req.params.get("x-oss-expires", "")
        if not expires.isdigit() or int(expires) > MAX_V4_URL_EXPIRES_SECONDS:
            raise access_denied("Invalid x-oss-expires parameter in the signed URL.")
        if _parse_v4_date(date_time) + int(expires) < now:
            raise access_denied("Request has expired.")
        additional = _split_additional(req.params.get("x-oss-additional-headers", ""))
        # The signature covers every query parameter except itself.
        params = {k: v for k, v in req.params.items() if k != "x-oss-signature"}
        expected = self._v4_signature(
            req, params, scope, additional, date_time, principal.credentials
        )
        self._compare(expected, req.params.get("x-oss-signature", ""))
        return principal

    def _v4_signature(
        self,
        req: SignedRequest,
        params: Mapping[str, str],
        scope: _V4Scope,
        additional: list[str] | None,
        date_time: str,
        credentials: Credentials,
    ) -> str:
        rebuilt = _oss2_request(req.method, params, req.headers)
        rebuilt.region = scope.region
        rebuilt.product = scope.product
        # oss2 has no public signer; its own keeps the fake byte for byte with the SDK.
        make: Any = self._v4._ProviderAuthV4__make_signature  # noqa: SLF001
        signature = make(rebuilt, req.bucket, req.key, additional, credentials, date_time)
        return str(signature)


@dataclass(frozen=True)
class _V4Scope:
    access_key_id: str
    region: str
    product: str

    @classmethod
    def parse(cls, credential: str) -> _V4Scope:
        # ACCESS_KEY_ID/YYYYMMDD/REGION/PRODUCT/aliyun_v4_request
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aliyun_v4_request":
            raise OssError(400, "InvalidArgument", "Invalid credential in V4 signature.")
        return cls(access_key_id=parts[0], region=parts[2], product=parts[3])


def _as_signed(headers: Mapping[str, str]) -> dict[str, str]:
    """Header values as the client signed them.

    WSGI hands header bytes over as latin-1 text. oss2 signs a value's UTF-8 bytes and
    sends a str value as latin-1 (café) but bytes as they are (UTF-8 测试): a value whose
    bytes are valid UTF-8 was signed as that text, any other as the latin-1 text.
    """
    signed = {}
    for name, value in headers.items():
        try:
            signed[name] = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            signed[name] = value
    return signed


def _oss2_request(
    method: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> oss2.http.Request:
    # The URL is not part of any signature: bucket and key are passed separately.
    return oss2.http.Request(method, "http://fakeoss/", params=dict(params), headers=dict(headers))


def _parse_v4_authorization(authorization: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in authorization[len("OSS4-HMAC-SHA256 ") :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name] = value
    return fields


def _split_additional(value: str) -> list[str] | None:
    names = [n.strip().lower() for n in value.split(";") if n.strip()]
    return names or None


def _parse_v4_date(value: str) -> float:
    try:
        parsed = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise access_denied("Invalid x-oss-date in V4 signature.") from None
    return parsed.timestamp()


def _check_http_date(value: str, now: float) -> None:
    try:
        signed_at = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        raise access_denied("Invalid Date header.") from None
    if abs(signed_at - now) > MAX_CLOCK_SKEW_SECONDS:
        raise _time_too_skewed()


def _time_too_skewed() -> OssError:
    return OssError(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )
