"""OSS behaviours the oss2 SDK's own tests found fakeoss missing (`nox -s sdk_tests`)."""

from __future__ import annotations

import base64
import io

import oss2
import pytest
import requests
from oss2.models import RestoreConfiguration, RestoreJobParameters, Tagging, TaggingRule
from PIL import Image

from .conftest import OssTarget


def _tagging(key: str, value: str) -> Tagging:
    tagging = Tagging()
    tagging.tag_set.tagging_rule[key] = value  # past TaggingRule.add's own checks
    return tagging


@pytest.mark.parametrize(("key", "value"), [("%@abc", "v"), ("k", "%abc"), ("", "v")])
def test_tag_with_a_character_oss_does_not_allow_is_invalid_tag(
    bucket: oss2.Bucket, prefix: str, key: str, value: str
) -> None:
    bucket.put_object(prefix + "t", b"x")

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object_tagging(prefix + "t", _tagging(key, value))

    assert (raised.value.status, raised.value.code) == (400, "InvalidTag")


def test_tag_with_the_punctuation_oss_allows_is_kept(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "t", b"x")
    rule = TaggingRule()
    rule.add("+-/ =._:", ":+:")

    bucket.put_object_tagging(prefix + "t", Tagging(rule))

    assert bucket.get_object_tagging(prefix + "t").tag_set.tagging_rule == {"+-/ =._:": ":+:"}


def test_a_later_append_ignores_its_tagging_header(bucket: oss2.Bucket, prefix: str) -> None:
    first = bucket.append_object(prefix + "a", 0, b"one")
    too_many = "&".join(f"k{i}=v{i}" for i in range(15))

    bucket.append_object(prefix + "a", first.next_position, b"two", {"x-oss-tagging": too_many})

    assert bucket.get_object_tagging(prefix + "a").tag_set.tagging_rule == {}


def test_a_symlink_is_read_with_its_own_user_metadata(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "target", b"hello", headers={"x-oss-meta-side": "target"})
    bucket.put_symlink(prefix + "target", prefix + "link", headers={"x-oss-meta-side": "link"})

    head = bucket.head_object(prefix + "link")
    got = bucket.get_object(prefix + "link")

    assert (head.content_length, head.headers["x-oss-meta-side"]) == (5, "link")
    assert (got.read(), got.headers["x-oss-meta-side"]) == (b"hello", "link")


def test_a_listing_shows_a_restore_in_progress(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "cold", b"a", headers={"x-oss-storage-class": "Archive"})
    bucket.restore_object(prefix + "cold")

    (listed,) = bucket.list_objects_v2(prefix=prefix).object_list

    assert 'ongoing-request="true"' in listed.restore_info


def test_restoring_an_archive_object_with_job_parameters_is_malformed_xml(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "cold", b"a", headers={"x-oss-storage-class": "Archive"})
    config = RestoreConfiguration(days=5, job_parameters=RestoreJobParameters("Bulk"))

    with pytest.raises(oss2.exceptions.MalformedXml):
        bucket.restore_object(prefix + "cold", input=config)


@pytest.mark.parametrize("tier", ["Expedited", "Standard", "Bulk"])
def test_restoring_a_cold_archive_object_answers_its_tier(
    bucket: oss2.Bucket, prefix: str, tier: str
) -> None:
    bucket.put_object(prefix + "cold", b"a", headers={"x-oss-storage-class": "ColdArchive"})
    config = RestoreConfiguration(days=5, job_parameters=RestoreJobParameters(tier))

    result = bucket.restore_object(prefix + "cold", input=config)

    assert result.resp.headers["x-oss-object-restore-priority"] == tier


def test_restoring_with_an_unknown_tier_is_invalid_argument(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "cold", b"a", headers={"x-oss-storage-class": "ColdArchive"})
    config = RestoreConfiguration(days=5, job_parameters=RestoreJobParameters("wrong-tier"))

    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.restore_object(prefix + "cold", input=config)


def test_restoring_an_archive_object_for_more_than_seven_days_is_invalid_argument(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "cold", b"a", headers={"x-oss-storage-class": "Archive"})

    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.restore_object(prefix + "cold", input=RestoreConfiguration(days=8))


def test_a_text_object_is_sent_gzipped_and_chunked_when_asked(
    bucket: oss2.Bucket, prefix: str
) -> None:
    text = b"a line of text\n" * 200
    bucket.put_object(prefix + "notes.txt", text, headers={"Content-Type": "text/plain"})

    url = bucket.sign_url("GET", prefix + "notes.txt", 60)
    response = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10)

    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.headers
    assert response.content == text  # requests undoes the gzip


def test_an_image_is_never_gzipped(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "p.jpg", b"\xff" * 4096, headers={"Content-Type": "image/jpeg"})

    result = bucket.get_object(prefix + "p.jpg", headers={"Accept-Encoding": "gzip"})

    assert "Content-Encoding" not in result.headers
    assert result.read() == b"\xff" * 4096


def test_a_traffic_limit_outside_oss_range_is_invalid_argument(
    bucket: oss2.Bucket, prefix: str
) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object(prefix + "slow", b"x", headers={"x-oss-traffic-limit": "100"})


def test_a_traffic_limited_download_is_whole(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "slow", b"s" * 1000)

    result = bucket.get_object(prefix + "slow", headers={"x-oss-traffic-limit": str(819200)})

    assert result.read() == b"s" * 1000


def test_one_key_s_uploads_are_listed_in_the_order_they_began(
    bucket: oss2.Bucket, prefix: str
) -> None:
    started = [bucket.init_multipart_upload(prefix + "big").upload_id for _ in range(5)]

    listed = [u.upload_id for u in oss2.ObjectUploadIterator(bucket, prefix + "big")]

    assert listed == sorted(started) == started


def _v2_bucket(oss_target: OssTarget) -> oss2.Bucket:
    auth = oss2.AuthV2(oss_target.access_key_id, oss_target.access_key_secret)
    return oss2.Bucket(auth, oss_target.endpoint, oss_target.bucket_name)


def test_v2_signed_requests_are_accepted(oss_target: OssTarget, prefix: str) -> None:
    bucket = _v2_bucket(oss_target)

    bucket.put_object(prefix + "v2", b"signed v2", headers={"custom-header": "abc"})

    assert bucket.get_object(prefix + "v2").read() == b"signed v2"


def test_v2_signed_url_with_additional_headers_is_accepted(
    oss_target: OssTarget, prefix: str
) -> None:
    bucket = _v2_bucket(oss_target)
    headers = {"custom-header": "abc"}
    url = bucket.sign_url(
        "PUT", prefix + "v2url", 60, headers=headers, additional_headers={"custom-header"}
    )

    bucket.put_object_with_url(url, b"hello", headers=headers)

    assert bucket.get_object(prefix + "v2url").read() == b"hello"


def test_v2_signed_url_with_a_changed_additional_header_is_signature_does_not_match(
    oss_target: OssTarget, prefix: str
) -> None:
    bucket = _v2_bucket(oss_target)
    url = bucket.sign_url(
        "PUT",
        prefix + "v2url",
        60,
        headers={"custom-header": "abc"},
        additional_headers={"custom-header"},
    )

    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        bucket.put_object_with_url(url, b"hello", headers={"custom-header": "changed"})


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def _b64(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def test_process_with_saveas_stores_the_result_in_the_same_bucket(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "big.jpg", _jpeg(400, 300))

    result = bucket.process_object(
        prefix + "big.jpg", f"image/resize,w_100|sys/saveas,o_{_b64(prefix + 'small.jpg')}"
    )

    assert (result.object, result.bucket, result.process_status) == (prefix + "small.jpg", "", "OK")
    saved = bucket.get_object(prefix + "small.jpg").read()
    assert Image.open(io.BytesIO(saved)).size == (100, 75)
    assert result.fileSize == len(saved)


def test_process_with_saveas_names_the_bucket_it_was_given(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "big.jpg", _jpeg(400, 300))
    target = f"o_{_b64(prefix + 'small.jpg')},b_{_b64(bucket.bucket_name)}"

    result = bucket.process_object(prefix + "big.jpg", f"image/resize,w_100|sys/saveas,{target}")

    assert result.bucket == bucket.bucket_name
    assert bucket.object_exists(prefix + "small.jpg")
