"""fakeoss with a data folder keeps its buckets across a restart, as a local OSS should."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import oss2
import pytest

from fakeoss.__main__ import main
from fakeoss.testing import running_fakeoss

PART = 100 * 1024


def _tags(bucket: oss2.Bucket, key: str) -> dict[str, str]:
    return dict(bucket.get_object_tagging(key).tag_set.tagging_rule)


def test_objects_metadata_tags_and_acls_survive_a_restart(tmp_path: Path) -> None:
    with running_fakeoss(buckets=("keep",), data_dir=tmp_path) as fake:
        bucket = fake.bucket("keep")
        bucket.put_object(
            "photos/a.jpg",
            b"jpeg bytes",
            headers={
                "Content-Type": "image/jpeg",
                "x-oss-meta-camera": "Leica",
                "x-oss-tagging": "album=summer",
                "x-oss-object-acl": "public-read",
            },
        )
        bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)

    with running_fakeoss(buckets=(), data_dir=tmp_path) as fake:
        bucket = fake.bucket("keep")
        result = bucket.get_object("photos/a.jpg")

        assert result.read() == b"jpeg bytes"
        assert result.headers["Content-Type"] == "image/jpeg"
        assert result.headers["x-oss-meta-camera"] == "Leica"
        assert _tags(bucket, "photos/a.jpg") == {"album": "summer"}
        assert bucket.get_object_acl("photos/a.jpg").acl == oss2.OBJECT_ACL_PUBLIC_READ
        assert bucket.get_bucket_acl().acl == oss2.BUCKET_ACL_PUBLIC_READ


def test_a_multipart_upload_in_progress_completes_after_a_restart(tmp_path: Path) -> None:
    first, second = b"a" * PART, b"b" * 10
    with running_fakeoss(buckets=("keep",), data_dir=tmp_path) as fake:
        bucket = fake.bucket("keep")
        upload_id = bucket.init_multipart_upload("big").upload_id
        part1 = bucket.upload_part("big", upload_id, 1, first)

    with running_fakeoss(buckets=(), data_dir=tmp_path) as fake:
        bucket = fake.bucket("keep")
        assert [u.upload_id for u in bucket.list_multipart_uploads().upload_list] == [upload_id]
        part2 = bucket.upload_part("big", upload_id, 2, second)
        bucket.complete_multipart_upload(
            "big",
            upload_id,
            [oss2.models.PartInfo(1, part1.etag), oss2.models.PartInfo(2, part2.etag)],
        )

        assert bucket.get_object("big").read() == first + second


def test_deleted_objects_and_buckets_stay_deleted_after_a_restart(tmp_path: Path) -> None:
    with running_fakeoss(buckets=("keep", "gone"), data_dir=tmp_path) as fake:
        fake.bucket("keep").put_object("temporary", b"x")
        fake.bucket("keep").delete_object("temporary")
        fake.bucket("gone").delete_bucket()

    with running_fakeoss(buckets=(), data_dir=tmp_path) as fake:
        assert not fake.bucket("keep").object_exists("temporary")
        with pytest.raises(oss2.exceptions.NoSuchBucket):
            fake.bucket("gone").get_bucket_info()


def test_without_a_data_folder_nothing_is_kept(tmp_path: Path) -> None:
    with running_fakeoss(buckets=("keep",)) as fake:
        fake.bucket("keep").put_object("k", b"v")

    with running_fakeoss(buckets=("keep",)) as fake:
        assert not fake.bucket("keep").object_exists("k")
    assert list(tmp_path.iterdir()) == []


def test_bytes_whose_record_was_never_written_are_dropped_at_load(tmp_path: Path) -> None:
    with running_fakeoss(buckets=("keep",), data_dir=tmp_path) as fake:
        fake.bucket("keep").put_object("k", b"v")
    (record,) = (tmp_path / "keep" / "objects").glob("*.json")
    record.unlink()  # as if the process died between the bytes and the record

    with running_fakeoss(buckets=(), data_dir=tmp_path) as fake:
        assert list(fake.bucket("keep").list_objects().object_list) == []


def test_an_unwritable_data_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    status = main(["--access-key-id", "i", "--access-key-secret", "s", "--port", "0",
                   "--data-dir", str(blocker / "data")])  # fmt: skip

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "--data-dir" in error
    assert str(blocker / "data") in error


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(port: int, data_dir: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "fakeoss", "--port", str(port), "--bucket", "keep",
            "--access-key-id", "p-id", "--access-key-secret", "p-secret"]  # fmt: skip
    return subprocess.Popen(
        argv, env={"FAKEOSS_DATA_DIR": str(data_dir), "PATH": ""}, stderr=subprocess.PIPE, text=True
    )


def _until_up(bucket: oss2.Bucket) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            bucket.get_bucket_info()
            return
        except oss2.exceptions.RequestError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_restarted_process_serves_what_it_stored_before(tmp_path: Path) -> None:
    port = _free_port()
    bucket = oss2.Bucket(oss2.Auth("p-id", "p-secret"), f"http://127.0.0.1:{port}", "keep")
    for step in ("write", "read"):
        # Killed, not stopped: what was answered 200 is on disk already.
        process = _serve(port, tmp_path)
        try:
            _until_up(bucket)
            if step == "write":
                bucket.put_object("k", b"kept", headers={"x-oss-meta-who": "me"})
            else:
                result = bucket.get_object("k")
                assert (result.read(), result.headers["x-oss-meta-who"]) == (b"kept", "me")
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)


def test_a_data_folder_fakeoss_cannot_read_is_a_one_line_error_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "bucket.json").write_text("{not json")

    status = main(["--access-key-id", "i", "--access-key-secret", "s", "--port", "0",
                   "--data-dir", str(tmp_path)])  # fmt: skip

    assert status == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "bucket keep cannot be read" in error
