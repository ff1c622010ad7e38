from __future__ import annotations

import re

import oss2
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from gallery import create_app
from support import pictures
from support.gallery import AUTH, bucket_keys, upload

ID = r"[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def test_upload_answers_201_with_the_image_document(api: FlaskClient) -> None:
    response = upload(api, pictures.png(64, 48), "beach.png")
    assert response.status_code == 201
    document = response.json
    assert document is not None
    assert re.fullmatch(ID, document["id"])
    assert document["filename"] == "beach.png"
    assert document["content_type"] == "image/png"
    assert (document["width"], document["height"]) == (64, 48)
    assert document["size"] == len(pictures.png(64, 48))
    assert document["url"] == f"/images/{document['id']}"
    assert document["thumbnail_url"] == f"/images/{document['id']}/thumbnail"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["created_at"])
    assert response.headers["Location"] == f"/api/images/{document['id']}"


def test_upload_stores_the_original_and_its_record_under_server_made_keys(
    api: FlaskClient, bucket: oss2.Bucket
) -> None:
    image_id = upload(api, pictures.png(), "holiday.png").json["id"]  # type: ignore[index]
    assert bucket_keys(bucket) == [f"images/{image_id}/original.png", f"records/{image_id}.json"]
    stored = bucket.get_object(f"images/{image_id}/original.png")
    assert stored.read() == pictures.png()
    assert stored.headers["Content-Type"] == "image/png"


def test_get_answers_the_same_document_as_the_upload(api: FlaskClient) -> None:
    created = upload(api, pictures.jpeg(), "cat.jpg", "image/jpeg").json
    assert created is not None
    response = api.get(f"/api/images/{created['id']}")
    assert response.status_code == 200
    assert response.json == created


def test_unknown_image_is_a_json_404(api: FlaskClient) -> None:
    response = api.get("/api/images/00000000-0000-8000-8000-000000000000")
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["error"]["code"] == 404


def test_listing_is_newest_first_in_pages(api: FlaskClient) -> None:
    ids = [upload(api, pictures.png(), f"{n}.png").json["id"] for n in range(3)]  # type: ignore[index]
    first = api.get("/api/images?limit=2").json
    assert first is not None
    assert [image["id"] for image in first["images"]] == [ids[2], ids[1]]
    second = api.get(f"/api/images?limit=2&cursor={first['next_cursor']}").json
    assert second is not None
    assert [image["id"] for image in second["images"]] == [ids[0]]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=many", "cursor=../../etc", "cursor=records%2Fx"]
)
def test_listing_refuses_bad_paging_arguments(api: FlaskClient, query: str) -> None:
    response = api.get(f"/api/images?{query}")
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"]["code"] == 400


def test_delete_answers_204_and_removes_every_object(api: FlaskClient, bucket: oss2.Bucket) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    bucket.put_object(f"images/{image_id}/thumb-320.webp", b"pretend thumbnail")
    response = api.delete(f"/api/images/{image_id}", headers=AUTH)
    assert response.status_code == 204
    assert bucket_keys(bucket) == []
    assert api.get(f"/api/images/{image_id}").status_code == 404


def test_deleting_an_unknown_image_is_404(api: FlaskClient) -> None:
    response = api.delete("/api/images/00000000-0000-8000-8000-000000000000", headers=AUTH)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": "Basic eDp5"}, 401)],
)
def test_delete_needs_the_token(
    api: FlaskClient, bucket: oss2.Bucket, headers: dict[str, str], status: int
) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    before = bucket_keys(bucket)
    response = api.delete(f"/api/images/{image_id}", headers=headers)
    assert response.status_code == status
    assert bucket_keys(bucket) == before


def test_missing_token_answer_carries_a_bearer_challenge(api: FlaskClient) -> None:
    response = upload(api, pictures.png(), headers={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_original_redirects_to_a_signed_url_that_serves_the_bytes(api: FlaskClient) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    response = api.get(f"/images/{image_id}")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "public, max-age=150"
    location = response.headers["Location"]
    assert "Signature=" in location
    assert "Expires=" in location
    fetched = requests.get(location, timeout=5)
    assert fetched.status_code == 200
    assert fetched.content == pictures.png()


def test_thumbnail_is_a_placeholder_that_is_not_cached_while_pending(api: FlaskClient) -> None:
    # No worker runs in this test: the thumbnail stays pending.
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    response = api.get(f"/images/{image_id}/thumbnail")
    assert response.status_code == 307
    assert response.headers["Location"].endswith("/static/pending.svg")
    assert response.headers["Cache-Control"] == "no-store"


def test_proxy_delivery_streams_the_bytes_with_immutable_caching(
    gallery_app: Flask, app_overrides: dict[str, object]
) -> None:
    proxy = create_app({**app_overrides, "IMAGE_DELIVERY": "proxy"}).test_client()
    image_id = upload(proxy, pictures.png()).json["id"]  # type: ignore[index]
    response = proxy.get(f"/images/{image_id}")
    assert response.status_code == 200
    assert response.data == pictures.png()
    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = proxy.get(f"/images/{image_id}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_large_upload_goes_to_oss_in_parts(api: FlaskClient, bucket: oss2.Bucket) -> None:
    data = pictures.noisy_png(300, 400)  # about 360 KB, over the 300 KB multipart threshold
    image_id = upload(api, data, "big.png").json["id"]  # type: ignore[index]
    stored = bucket.head_object(f"images/{image_id}/original.png")
    assert stored.etag.endswith("-4")  # OSS's ETag of a multipart object counts its parts
    assert bucket.get_object(f"images/{image_id}/original.png").read() == data


@pytest.fixture
def private_api(app_overrides: dict[str, object], bucket: oss2.Bucket) -> FlaskClient:
    return create_app({**app_overrides, "GALLERY_PRIVATE_READS": True}).test_client()


@pytest.mark.parametrize("path", ["/api/images", "/api/images/{id}", "/images/{id}"])
def test_private_reads_need_the_token(private_api: FlaskClient, path: str) -> None:
    image_id = upload(private_api, pictures.png()).json["id"]  # type: ignore[index]
    url = path.format(id=image_id)
    assert private_api.get(url).status_code == 401
    assert private_api.get(url, headers=AUTH).status_code in (200, 302)
