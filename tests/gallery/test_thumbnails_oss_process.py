"""THUMBNAILS=oss-process: thumbnails made by OSS's image service (x-oss-process), no worker."""

from __future__ import annotations

import io
from typing import Any

import oss2
import requests
from flask import Flask
from PIL import Image

from gallery import create_app
from gallery.settings import load_settings
from support import pictures
from support.gallery import upload


def oss_process_app(app_overrides: dict[str, Any], **extra: Any) -> Flask:
    return create_app({**app_overrides, "THUMBNAILS": "oss-process", **extra})


def test_thumbnails_default_to_the_worker(tmp_path: Any) -> None:
    settings = load_settings("testing", instance_path=tmp_path, environ={})

    assert settings.THUMBNAILS == "worker"


def test_thumbnail_redirects_to_a_signed_url_that_oss_resizes(
    app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> None:
    api = oss_process_app(app_overrides).test_client()
    image_id = upload(api, pictures.png(2000, 1000)).json["id"]  # type: ignore[index]

    small = api.get(f"/images/{image_id}/thumbnail")
    large = api.get(f"/images/{image_id}/thumbnail?size=500")

    assert small.status_code == large.status_code == 302
    assert "x-oss-process=image%2Fresize%2Cl_320" in small.headers["Location"]
    fetched = requests.get(large.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    thumbnail = Image.open(io.BytesIO(fetched.content))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (1024, 512))
    # No thumbnail files: OSS makes them on each request.
    assert not [k for k in (o.key for o in oss2.ObjectIterator(bucket)) if "thumb-" in k]


def test_thumbnail_is_streamed_resized_with_proxy_delivery(
    app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> None:
    api = oss_process_app(app_overrides, IMAGE_DELIVERY="proxy").test_client()
    image_id = upload(api, pictures.png(2000, 1000)).json["id"]  # type: ignore[index]

    response = api.get(f"/images/{image_id}/thumbnail")

    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.data)).size == (320, 160)
