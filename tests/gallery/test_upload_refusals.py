"""Every upload the gallery must refuse, with its status, and proof that nothing was stored."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

import oss2
import pytest
from flask.testing import FlaskClient

from support import pictures
from support.gallery import AUTH, bucket_keys, upload


@dataclass(frozen=True)
class Refusal:
    data: bytes
    filename: str = "picture.png"
    content_type: str = "image/png"
    headers: dict[str, str] = field(default_factory=lambda: dict(AUTH))
    status: int = 400
    message: str = ""


REFUSALS = {
    "text named .png": Refusal(b"just some words\n" * 10, status=415, message="not a JPEG, PNG"),
    "zero bytes": Refusal(b"", status=400, message="empty"),
    "truncated JPEG": Refusal(
        pictures.truncated_jpeg(), "photo.jpg", "image/jpeg", status=422, message="damaged"
    ),
    "30000x30000 PNG bomb": Refusal(pictures.png_bomb(), status=422, message="pixels"),
    "pixels over the app's limit": Refusal(
        pictures.png_bomb(3000, 2000), status=422, message="more than 4,000,000 pixels"
    ),
    "BMP (a real image, not allowed)": Refusal(pictures.bmp(), "a.bmp", status=415),
    "body over the limit": Refusal(pictures.noisy_png(600, 600), status=413),
    "path as name": Refusal(pictures.png(), "../../etc/passwd.png", message="plain name"),
    "control character in name": Refusal(pictures.png(), "a\x07b.png", message="control"),
    "missing token": Refusal(pictures.png(), headers={}, status=401, message="Bearer"),
    "wrong token": Refusal(
        pictures.png(), headers={"Authorization": "Bearer not-the-token"}, status=403
    ),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_upload_gets_a_clear_json_error_and_stores_nothing(
    api: FlaskClient, bucket: oss2.Bucket, case: Refusal
) -> None:
    before = bucket_keys(bucket)
    response = upload(api, case.data, case.filename, case.content_type, headers=case.headers)
    assert response.status_code == case.status
    assert response.mimetype == "application/json"
    error = response.json["error"]  # type: ignore[index]
    assert error["code"] == case.status
    assert case.message in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert bucket_keys(bucket) == before


def test_upload_without_the_file_field_is_400(api: FlaskClient, bucket: oss2.Bucket) -> None:
    response = api.post("/api/images", data={"other": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert "'file'" in response.json["error"]["message"]  # type: ignore[index]
    assert bucket_keys(bucket) == []


def test_unicode_name_is_kept_as_data_while_the_key_is_made_by_the_server(
    api: FlaskClient, bucket: oss2.Bucket
) -> None:
    name = "Ünïcødé 写真 <img src=x onerror=alert(1)>.png"
    response = upload(api, pictures.png(), name)
    assert response.status_code == 201
    image_id = response.json["id"]  # type: ignore[index]
    assert response.json["filename"] == name  # type: ignore[index]
    for key in bucket_keys(bucket):
        assert re.fullmatch(rf"(images/{image_id}/original\.png|records/{image_id}\.json)", key)
    record = json.loads(bucket.get_object(f"records/{image_id}.json").read())
    assert record["filename"] == name


def test_unicode_name_is_shown_escaped_on_the_page(api: FlaskClient) -> None:
    name = "Ünïcødé 写真 <img src=x onerror=alert(1)>.png"
    upload(api, pictures.png(), name)
    page = api.get("/").get_data(as_text=True)
    assert html.escape(name) in page
    assert "<img src=x" not in page


def test_wrong_declared_type_is_ignored_for_the_type_the_content_shows(
    api: FlaskClient, bucket: oss2.Bucket
) -> None:
    response = upload(api, pictures.jpeg(), "really-a-jpeg.gif", "application/x-msdownload")
    assert response.status_code == 201
    image_id = response.json["id"]  # type: ignore[index]
    assert response.json["content_type"] == "image/jpeg"  # type: ignore[index]
    stored = bucket.head_object(f"images/{image_id}/original.jpg")
    assert stored.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (pictures.png(), "image/png"),
        (pictures.jpeg(), "image/jpeg"),
        (pictures.gif(), "image/gif"),
        (pictures.webp(), "image/webp"),
    ],
    ids=["png", "jpeg", "gif", "webp"],
)
def test_each_allowed_format_is_accepted(api: FlaskClient, data: bytes, content_type: str) -> None:
    response = upload(api, data, "any-name")
    assert response.status_code == 201
    assert response.json["content_type"] == content_type  # type: ignore[index]
