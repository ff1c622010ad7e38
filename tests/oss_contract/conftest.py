"""The OSS contract's targets: fakeoss on a free port, or real OSS from the environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import oss2
import pytest

from fakeoss.testing import running_fakeoss

REAL_ENV = ("OSS_ENDPOINT", "OSS_BUCKET")
# Real OSS's credentials: a RAM role assumed with CI's OIDC token (alibabacloud-credentials'
# standard variables, what the pipelines provide), else an AccessKey pair.
OIDC_ENV = (
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
)
KEY_ENV = ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")
FAKE_BUCKET = "contract"


@dataclass(frozen=True)
class OssTarget:
    name: str
    endpoint: str
    bucket_name: str
    access_key_id: str
    access_key_secret: str
    region: str
    # Set when the credentials are STS's (the OIDC role).
    security_token: str = ""

    def auth(self, auth_version: str = "v1") -> Any:
        """The target's own credentials, as oss2 signs with them."""
        if self.security_token:
            return oss2.StsAuth(
                self.access_key_id, self.access_key_secret, self.security_token, auth_version
            )
        if auth_version == "v4":
            return oss2.AuthV4(self.access_key_id, self.access_key_secret)
        return oss2.Auth(self.access_key_id, self.access_key_secret)

    def bucket(
        self,
        *,
        auth_version: str = "v1",
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        bucket_name: str | None = None,
    ) -> oss2.Bucket:
        key_id = self.access_key_id if access_key_id is None else access_key_id
        secret = self.access_key_secret if access_key_secret is None else access_key_secret
        name = bucket_name or self.bucket_name
        # Another key id is a stranger's: it goes without the target's security token.
        token = self.security_token if access_key_id is None else ""
        replaced = OssTarget(self.name, self.endpoint, name, key_id, secret, self.region, token)
        auth: Any = replaced.auth(auth_version)
        if auth_version == "v4":
            return oss2.Bucket(auth, self.endpoint, name, region=self.region)
        return oss2.Bucket(auth, self.endpoint, name)

    def anonymous_bucket(self) -> oss2.Bucket:
        return oss2.Bucket(oss2.AnonymousAuth(), self.endpoint, self.bucket_name)


def _real_credentials() -> tuple[str, str, str]:
    """Key id, secret and security token for real OSS, from the CI's OIDC exchange when its
    variables are set, else from an AccessKey pair; pytest.exit with what is missing."""
    missing = [name for name in REAL_ENV if not os.environ.get(name)]
    oidc = all(os.environ.get(name) for name in OIDC_ENV)
    if not oidc:
        missing += [name for name in KEY_ENV if not os.environ.get(name)]
    if missing:
        pytest.exit(
            "set OSS_ENDPOINT, OSS_BUCKET and either ALIBABA_CLOUD_ROLE_ARN, "
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE (CI's OIDC role) "
            "or OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET to run the contract against real "
            f"OSS (missing: {', '.join(missing)})",
            returncode=2,
        )
    if not oidc:
        return os.environ["OSS_ACCESS_KEY_ID"], os.environ["OSS_ACCESS_KEY_SECRET"], ""
    # The SDK reads the three variables itself; a run lasts well under the hour they hold.
    from alibabacloud_credentials.provider import OIDCRoleArnCredentialsProvider

    try:
        found = OIDCRoleArnCredentialsProvider(role_session_name="oss-contract").get_credentials()
    except Exception as exc:  # one line, whatever the SDK raised
        pytest.exit(f"the OIDC exchange for real OSS credentials failed: {exc}", returncode=2)
    return found.get_access_key_id(), found.get_access_key_secret(), found.get_security_token()


def _region_from_endpoint(endpoint: str) -> str:
    # https://oss-cn-hangzhou.aliyuncs.com -> cn-hangzhou
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    first = host.split(".", 1)[0]
    return first.removeprefix("oss-").removesuffix("-internal") or "cn-hangzhou"


@pytest.fixture(scope="session")
def oss_target(request: pytest.FixtureRequest) -> Iterator[OssTarget]:
    if request.config.getoption("--target") == "real":
        key_id, secret, token = _real_credentials()
        endpoint = os.environ["OSS_ENDPOINT"]
        yield OssTarget(
            name="real",
            endpoint=endpoint,
            bucket_name=os.environ["OSS_BUCKET"],
            access_key_id=key_id,
            access_key_secret=secret,
            region=os.environ.get("OSS_REGION") or _region_from_endpoint(endpoint),
            security_token=token,
        )
        return
    # Buckets are not created on demand here, so NoSuchBucket behaves as on OSS.
    with running_fakeoss(buckets=(FAKE_BUCKET,), create_buckets_on_demand=False) as fake:
        yield OssTarget(
            name="fake",
            endpoint=fake.endpoint,
            bucket_name=FAKE_BUCKET,
            access_key_id=fake.access_key_id,
            access_key_secret=fake.access_key_secret,
            region="cn-hangzhou",
        )


@pytest.fixture
def bucket(oss_target: OssTarget) -> oss2.Bucket:
    return oss_target.bucket()


@pytest.fixture
def prefix(bucket: oss2.Bucket) -> Iterator[str]:
    """A key prefix no other test uses; whatever the test leaves under it is removed."""
    unique = f"oss-contract/{uuid.uuid4().hex}/"
    yield unique
    for upload in oss2.MultipartUploadIterator(bucket, prefix=unique):
        bucket.abort_multipart_upload(upload.key, upload.upload_id)
    keys = [obj.key for obj in oss2.ObjectIteratorV2(bucket, prefix=unique)]
    for start in range(0, len(keys), 1000):
        bucket.batch_delete_objects(keys[start : start + 1000])
