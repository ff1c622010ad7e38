"""Headers that keep browsers strict on every response, image bytes included."""

from __future__ import annotations

from typing import Any

import oss2
import pytest
from flask import Flask

from gallery import create_app
from gallery.records import ImageRecord
from support import pictures
from support.gallery import upload


@pytest.fixture
def proxy_app(app_overrides: dict[str, Any], bucket: oss2.Bucket) -> Flask:
    return create_app({**app_overrides, "IMAGE_DELIVERY": "proxy"})


def test_proxy_delivery_csp_does_not_name_the_oss_host(
    proxy_app: Flask, app_overrides: dict[str, Any]
) -> None:
    policy = proxy_app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in policy
    assert app_overrides["OSS_ENDPOINT"].split("//")[1] not in policy


def test_redirect_delivery_csp_names_the_oss_origin(gallery_app: Flask) -> None:
    policy = gallery_app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: http://" in policy


def test_original_through_the_app_is_an_inline_image_that_cannot_run(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]
    response = client.get(f"/images/{image_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="images-{image_id}-original.png"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_stored_html_is_never_served_as_a_page(proxy_app: Flask, bucket: oss2.Bucket) -> None:
    client = proxy_app.test_client()
    image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]
    record = ImageRecord.model_validate_json(bucket.get_object(f"records/{image_id}.json").read())
    bucket.put_object(
        record.original_key, b"<script>alert(1)</script>", headers={"Content-Type": "text/html"}
    )
    response = client.get(f"/images/{image_id}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_oss_serves_originals_with_an_inline_disposition(
    gallery_app: Flask, bucket: oss2.Bucket
) -> None:
    image_id = upload(gallery_app.test_client(), pictures.png()).json["id"]  # type: ignore[index]
    stored = bucket.get_object(f"images/{image_id}/original.png")
    assert stored.headers["Content-Disposition"].startswith("inline;")
    assert stored.headers["Content-Type"] == "image/png"
