"""A local fake STS that trusts one forge's OIDC tokens for one role (AssumeRoleWithOIDC)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fakeoss.policy import Policy
from fakeoss.sts import TokenIssuer
from fakeoss.stsapi import FakeIdentityProvider, FakeSts, OidcProvider, Role
from fakeoss.testing import serve_wsgi

PROVIDER_ARN = "acs:ram::1234567890:oidc-provider/github"
ROLE_ARN = "acs:ram::1234567890:role/gallery-ci"
AUDIENCE = "sts.aliyuncs.com"


@contextmanager
def serving_sts(
    access_key_secret: str, forge: FakeIdentityProvider, bucket_name: str
) -> Iterator[str]:
    """The STS's URL (no trailing slash): ROLE_ARN may read and write ``bucket_name`` and is
    assumed with ``forge``'s tokens for AUDIENCE; credentials are signed with the fake OSS's
    ``access_key_secret``."""
    sts = FakeSts(
        TokenIssuer(access_key_secret),
        providers=[OidcProvider(PROVIDER_ARN, forge.issuer_url, (AUDIENCE,), forge.public_key)],
        roles=[Role(ROLE_ARN, Policy.bucket_read_write(bucket_name), PROVIDER_ARN)],
    )
    with serve_wsgi(sts) as server:
        yield f"http://127.0.0.1:{server.server_port}"
