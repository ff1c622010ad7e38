"""Upload callbacks: fakeoss POSTs to a callback server on 127.0.0.1, as OSS does to an app."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import oss2
import pytest

from fakeoss.testing import RunningFakeOss, running_fakeoss
from support.loopback import serving


class CallbackServer:
    """Answers each callback with ``status`` and ``answer``; keeps what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.status = 200
        self.answer = b'{"accepted": true}'
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.received.append((self.headers["Content-Type"], self.rfile.read(length)))
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(outer.answer)))
                self.end_headers()
                self.wfile.write(outer.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/uploaded"


@pytest.fixture
def callback_server() -> Iterator[CallbackServer]:
    server = CallbackServer()
    with serving(server.server):
        yield server


@pytest.fixture
def fake() -> Iterator[RunningFakeOss]:
    with running_fakeoss(buckets=("bkt",)) as running:
        yield running


def _encoded(value: dict[str, str]) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _callback(url: str, body: str, **more: str) -> dict[str, str]:
    return {"x-oss-callback": _encoded({"callbackUrl": url, "callbackBody": body, **more})}


def test_an_upload_calls_back_and_answers_with_the_callback_server_s_answer(
    fake: RunningFakeOss, callback_server: CallbackServer
) -> None:
    headers = _callback(callback_server.url, "bucket=${bucket}&object=${object}&size=${size}")

    result = fake.bucket("bkt").put_object("photos/a b.jpg", b"12345", headers=headers)

    assert (result.status, result.resp.read()) == (200, b'{"accepted": true}')
    assert callback_server.received == [
        ("application/x-www-form-urlencoded", b"bucket=bkt&object=photos%2Fa%20b.jpg&size=5")
    ]


def test_callback_variables_and_a_json_body_are_filled_in(
    fake: RunningFakeOss, callback_server: CallbackServer
) -> None:
    headers = _callback(
        callback_server.url,
        '{"object": "${object}", "who": "${x:uploader}"}',
        callbackBodyType="application/json",
    )
    headers["x-oss-callback-var"] = _encoded({"x:uploader": "ana"})

    fake.bucket("bkt").put_object("k", b"v", headers=headers)

    assert callback_server.received == [("application/json", b'{"object": "k", "who": "ana"}')]


def test_a_failing_callback_server_is_203_callback_failed_with_the_object_stored(
    fake: RunningFakeOss, callback_server: CallbackServer
) -> None:
    callback_server.status = 500

    result = fake.bucket("bkt").put_object(
        "k", b"kept", headers=_callback(callback_server.url, "object=${object}")
    )

    assert result.status == 203
    assert b"<Code>CallbackFailed</Code>" in result.resp.read()
    assert fake.bucket("bkt").get_object("k").read() == b"kept"


def test_a_callback_beyond_the_loopback_address_is_not_sent_and_fails(
    fake: RunningFakeOss,
) -> None:
    result = fake.bucket("bkt").put_object(
        "k", b"kept", headers=_callback("http://cbsrv.oss.demo.com", "object=${object}")
    )

    assert result.status == 203
    assert b"127.0.0.1 only" in result.resp.read()


def test_a_callback_that_is_not_base64_json_is_refused_before_storing(
    fake: RunningFakeOss,
) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        fake.bucket("bkt").put_object("k", b"v", headers={"x-oss-callback": "not json"})

    assert not fake.bucket("bkt").object_exists("k")


def test_completing_a_multipart_upload_calls_back(
    fake: RunningFakeOss, callback_server: CallbackServer
) -> None:
    bucket = fake.bucket("bkt")
    upload_id = bucket.init_multipart_upload("big").upload_id
    part = bucket.upload_part("big", upload_id, 1, b"only part")

    bucket.complete_multipart_upload(
        "big",
        upload_id,
        [oss2.models.PartInfo(1, part.etag)],
        headers=_callback(callback_server.url, "object=${object}&size=${size}"),
    )

    assert callback_server.received == [("application/x-www-form-urlencoded", b"object=big&size=9")]
