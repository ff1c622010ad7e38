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

REAL_ENV = ("OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")
FAKE_BUCKET = "contract"


@dataclass(frozen=True)
class OssTarget:
    name: str
    endpoint: str
    bucket_name: str
    access_key_id: str
    access_key_secret: str
    region: str

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
        if auth_version == "v4":
            auth: Any = oss2.AuthV4(key_id, secret)
            return oss2.Bucket(auth, self.endpoint, name, region=self.region)
        return oss2.Bucket(oss2.Auth(key_id, secret), self.endpoint, name)

    def anonymous_bucket(self) -> oss2.Bucket:
        return oss2.Bucket(oss2.AnonymousAuth(), self.endpoint, self.bucket_name)


def _region_from_endpoint(endpoint: str) -> str:
    # https://oss-cn-hangzhou.aliyuncs.com -> cn-hangzhou
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    first = host.split(".", 1)[0]
    return first.removeprefix("oss-").removesuffix("-internal") or "cn-hangzhou"


@pytest.fixture(scope="session")
def oss_target(request: pytest.FixtureRequest) -> Iterator[OssTarget]:
    if request.config.getoption("--target") == "real":
        missing = [name for name in REAL_ENV if not os.environ.get(name)]
        if missing:
            pytest.exit(
                "set OSS_ENDPOINT, OSS_BUCKET, OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET "
                f"to run the contract against real OSS (missing: {', '.join(missing)})",
                returncode=2,
            )
        endpoint = os.environ["OSS_ENDPOINT"]
        yield OssTarget(
            name="real",
            endpoint=endpoint,
            bucket_name=os.environ["OSS_BUCKET"],
            access_key_id=os.environ["OSS_ACCESS_KEY_ID"],
            access_key_secret=os.environ["OSS_ACCESS_KEY_SECRET"],
            region=os.environ.get("OSS_REGION") or _region_from_endpoint(endpoint),
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
