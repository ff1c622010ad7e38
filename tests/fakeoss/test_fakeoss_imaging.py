"""What fakeoss's image processing refuses rather than skips (real OSS serves these)."""

from __future__ import annotations

import io

import oss2
import pytest
from PIL import Image

from fakeoss.testing import running_fakeoss


@pytest.mark.parametrize(
    "process", ["image/watermark,text_aGk", "image/circle,r_3", "style/thumb", "video/snapshot"]
)
def test_unserved_processing_is_not_implemented_not_the_original(process: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    with running_fakeoss(buckets=("bkt",)) as fake:
        bucket = fake.bucket("bkt")
        bucket.put_object("p.png", out.getvalue())

        with pytest.raises(oss2.exceptions.ServerError) as raised:
            bucket.get_object("p.png", process=process)

    assert (raised.value.status, raised.value.code) == (501, "NotImplemented")
    assert raised.value.headers["x-oss-ec"]
