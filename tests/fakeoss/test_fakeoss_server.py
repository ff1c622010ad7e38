"""Server behaviour that oss2 cannot provoke, through werkzeug's test client."""

from __future__ import annotations

import base64
import gc
import http.client
import socket
import time
import warnings

import oss2
import pytest
from werkzeug.test import Client

from fakeoss.server import make_app
from fakeoss.testing import running_fakeoss


def _signed_headers(method: str, key: str, **extra: str) -> dict[str, str]:
    req = oss2.http.Request(method, "http://x/", headers=extra)
    oss2.Auth("id", "secret")._sign_request(req, "bkt", key)
    return {k: v for k, v in req.headers.items() if v is not None}


def test_content_length_over_5_gib_is_entity_too_large_without_reading_the_body() -> None:
    with running_fakeoss("id", "secret", buckets=("bkt",)) as fake:
        connection = http.client.HTTPConnection(fake.endpoint.split("//", 1)[1], timeout=10)
        headers = _signed_headers("PUT", "k")
        headers["Content-Length"] = str(5 * 1024**3 + 1)
        connection.request("PUT", "/bkt/k", headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()

    assert response.status == 400
    assert b"<Code>EntityTooLarge</Code>" in body


def test_max_keys_over_1000_is_invalid_argument() -> None:
    client = Client(make_app("id", "secret", buckets=["bkt"]))

    response = client.get("/bkt/?max-keys=1001", headers=_signed_headers("GET", ""))

    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.data


def test_date_far_from_now_is_request_time_too_skewed() -> None:
    client = Client(make_app("id", "secret", buckets=["bkt"]))
    headers = _signed_headers("GET", "k")
    req = oss2.http.Request("GET", "http://x/")
    req.headers["date"] = "Mon, 01 Jan 2001 00:00:00 GMT"
    sig = oss2.Auth("id", "secret")._ProviderAuth__make_signature(
        req, "bkt", "k", oss2.credentials.Credentials("id", "secret")
    )
    headers.update({"date": req.headers["date"], "authorization": f"OSS id:{sig}"})

    response = client.get("/bkt/k", headers=headers)

    assert response.status_code == 403
    assert b"RequestTimeTooSkewed" in response.data


def test_head_error_is_base64_xml_in_x_oss_err() -> None:
    client = Client(make_app("id", "secret", buckets=["bkt"]))

    response = client.head("/bkt/missing", headers=_signed_headers("HEAD", "missing"))

    assert response.data == b""
    assert b"<Code>NoSuchKey</Code>" in base64.b64decode(response.headers["x-oss-err"])


def test_error_bodies_never_contain_the_secret() -> None:
    client = Client(make_app("id", "top-secret-value", buckets=["bkt"]))

    response = client.get("/bkt/k", headers=_signed_headers("GET", "k"))

    assert response.status_code == 403
    assert b"top-secret-value" not in response.data


def test_overwritten_objects_leave_no_resource_warning() -> None:
    with running_fakeoss() as fake:
        bucket = fake.bucket("gallery")
        for _ in range(3):
            bucket.put_object("same", b"x" * 1000)
        bucket.delete_object("same")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        gc.collect()

    assert not fake.app.store.exists("gallery", "same")


def test_two_fakes_with_the_same_bucket_name_do_not_share_objects() -> None:
    with running_fakeoss() as first, running_fakeoss() as second:
        first.bucket("gallery").put_object("only-in-first", b"x")

        assert not second.bucket("gallery").object_exists("only-in-first")


def test_unknown_bucket_is_no_such_bucket_by_default() -> None:
    with running_fakeoss(buckets=()) as fake, pytest.raises(oss2.exceptions.NoSuchBucket):
        fake.bucket("fresh").put_object("k", b"v")


def test_unknown_bucket_is_created_when_on_demand_is_asked_for() -> None:
    with running_fakeoss(buckets=(), create_buckets_on_demand=True) as fake:
        fake.bucket("fresh").put_object("k", b"v")

        assert fake.bucket("fresh").get_object("k").read() == b"v"


def test_declared_body_never_sent_times_out_with_400_and_frees_the_thread() -> None:
    with running_fakeoss(buckets=("bkt",)) as fake:
        fake.app.body_timeout = 0.5
        port = int(fake.endpoint.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"PUT /bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):  # the server closes the connection after answering
                answer += chunk

        assert answer.startswith(b"HTTP/1.1 400")
        assert b"<Code>RequestTimeout</Code>" in answer
        # The server still answers: the thread that waited was freed.
        fake.bucket("bkt").put_object("after", b"ok")
        assert fake.bucket("bkt").get_object("after").read() == b"ok"


def test_a_read_with_a_declared_body_is_answered_without_waiting_for_it() -> None:
    # As OSS: a signed URL's signed Content-Length may ride along on a GET.
    with running_fakeoss(buckets=("bkt",)) as fake:
        fake.app.body_timeout = 60  # longer than the socket below waits
        fake.bucket("bkt").put_object("k", b"value")
        url = fake.bucket("bkt").sign_url("GET", "k", 60, headers={"Content-Length": "9"})
        path = url.split(str(fake.endpoint), 1)[1].encode()
        port = int(fake.endpoint.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):  # closed: the unread body cannot carry on
                answer += chunk

        assert answer.startswith(b"HTTP/1.1 200")
        assert answer.endswith(b"value")
        assert b"Connection: close" in answer


def test_restore_takes_the_configured_time() -> None:
    with running_fakeoss(buckets=("bkt",)) as fake:
        fake.app.store.restore_seconds = 0.3
        bucket = fake.bucket("bkt")
        bucket.put_object("cold", b"c", headers={"x-oss-storage-class": "Archive"})

        assert bucket.restore_object("cold").status == 202
        with pytest.raises(oss2.exceptions.ServerError) as in_progress:
            bucket.restore_object("cold")
        time.sleep(0.4)

        assert in_progress.value.code == "RestoreAlreadyInProgress"
        assert bucket.get_object("cold").read() == b"c"


def test_running_fakeoss_exposes_endpoint_and_credentials() -> None:
    with running_fakeoss("my-id", "my-secret") as fake:
        assert fake.endpoint.startswith("http://127.0.0.1:")
        assert (fake.access_key_id, fake.access_key_secret) == ("my-id", "my-secret")
        assert fake.bucket("gallery").get_bucket_info().name == "gallery"
