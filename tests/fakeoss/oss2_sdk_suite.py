"""Run the oss2 SDK's own object tests against a fakeoss on 127.0.0.1 (`nox -s sdk_tests`).

The tests are fakeoss's, not the SDK's, under test: they were written for real OSS, so a
failure is a place where fakeoss answers differently. They come from the oss2 sdist on PyPI
for the installed oss2 version (the SDK's wheel has no tests), fetched at run time and cached
under `.cache/oss2-sdk/` (git-ignored); nothing of the SDK's is committed here.

Usage: python tests/fakeoss/oss2_sdk_suite.py [--junit PATH] [-- extra pytest args]
Prints one line per failed test and `passed N of M` at the end; exits 1 when any failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "oss2-sdk"
# The SDK's test modules about objects (what the gallery and the contract use). Left out:
# test_image needs tests/example.jpg, which the sdist does not ship, and checks the byte size of
# OSS's own JPEG/PNG encoder's output. test_upload, test_download and the crypto modules pick a
# bucket at random (plain, RSA client-side encryption, or KMS encryption, which calls Alibaba's
# KMS service): pytest-randomly's fixed seed makes the pick the same on every run, and a test
# that picks KMS fails on the closed port below (listed as such).
SUITE = (
    "test_object.py",
    "test_multipart.py",
    "test_traffic_limit.py",
    "test_chinese.py",
    "test_headers.py",
    "test_iterator.py",
    "test_list_objects_v2.py",
    "test_put_object_chunked.py",
    "test_sign.py",
    "test_upload.py",
    "test_download.py",
    "test_crypto_object.py",
    "test_crypto_multipart.py",
)
SEED = "20261206"
# Tests that do not test the server, and why (deselected, and listed in the output).
NOT_ABOUT_THE_SERVER = {
    "test_multipart.py::TestMultipart::test_multipart_sequential": "aims at real OSS "
    "(oss-cn-shanghai.aliyuncs.com), not the endpoint under test",
    "test_object.py::TestObject::test_timeout": "expects a 1 ms connect timeout to fail; "
    "a loopback connect takes less",
    "test_object.py::TestObject::test_default_timeout": "expects a 1 ms connect timeout to "
    "fail; a loopback connect takes less",
    "test_object.py::TestObject::test_process_object": "needs tests/example.jpg (not in the sdist)",
    "test_object.py::TestObject::test_put_object_with_sign_url": "needs tests/example.jpg "
    "(not in the sdist)",
    "test_object.py::TestObject::test_async_process_object": "needs tests/example.jpg "
    "(not in the sdist)",
    "test_upload.py::TestUpload::test_upload_sequenial": "aims at real OSS "
    "(oss-cn-shanghai.aliyuncs.com), not the endpoint under test",
    "test_crypto_object.py::TestCryptoObject::test_crypto_get_object_and_process": "needs "
    "tests/example.jpg (not in the sdist)",
    "test_crypto_object.py::TestCryptoObject::test_crypto_get_object_with_url_and_process": "needs "
    "tests/example.jpg (not in the sdist)",
    "test_crypto_object.py::TestCryptoObject::test_crypto_process_object": "needs "
    "tests/example.jpg (not in the sdist)",
    "test_crypto_object.py::TestCryptoObject::test_crypto_select_object": "needs "
    "tests/sample_data.csv (not in the sdist)",
    "test_crypto_object.py::TestCryptoObject::test_crypto_create_select_object_meta": "needs "
    "tests/sample_data.csv (not in the sdist)",
}
# Anything the tests send elsewhere than 127.0.0.1 goes to this closed local port and fails.
NOWHERE = "http://127.0.0.1:9"
KMS_HOST = "kms.cn-hangzhou.aliyuncs.com"
ACCESS_KEY_ID = "sdk-test-id"
ACCESS_KEY_SECRET = "sdk-test-secret"
START_TIMEOUT = 30.0
TEST_TIMEOUT = 120


def fetch_tests(version: str) -> Path:
    """The SDK's tests/ folder for ``version``, from its sdist (cached)."""
    folder = CACHE / f"oss2-{version}"
    tests = folder / "tests"
    if (tests / "common.py").exists():
        return tests
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"oss2=={version}", "-d", download, "--quiet"],
            check=True,
        )  # fmt: skip
        (sdist,) = Path(download).glob("oss2-*.tar.gz")
        with tarfile.open(sdist) as archive:
            prefix = f"oss2-{version}/tests/"
            members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.isfile()]
            for member in members:
                member.name = member.name[len(f"oss2-{version}/") :]
            archive.extractall(folder, members=members, filter="data")
    return tests


def timeout_args() -> list[str]:
    """A hung test fails alone (pytest-timeout, when installed: `nox -s sdk_tests` has it)."""
    if importlib.util.find_spec("pytest_timeout") is None:
        return []
    return [f"--timeout={TEST_TIMEOUT}"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"oss2_sdk_suite: fakeoss exited ({server.returncode}) before listening")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"oss2_sdk_suite: fakeoss did not listen on 127.0.0.1:{port} in {START_TIMEOUT} s")


def summarise(junit: Path) -> tuple[int, list[tuple[str, str]]]:
    """How many tests ran, and each that did not pass (a teardown error counts) with why."""
    root = ElementTree.parse(junit).getroot()  # noqa: S314 - pytest's own report
    # A test whose teardown fails appears twice (its call, then its teardown): one test.
    outcome: dict[str, str] = {}
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        problems = [n for n in case if n.tag in ("failure", "error", "skipped")]
        if problems and not outcome.get(name):
            outcome[name] = (problems[0].get("message") or problems[0].tag).splitlines()[0][:200]
        outcome.setdefault(name, "")
    total = len(outcome)
    failures = [(name, why) for name, why in outcome.items() if why]
    return total, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junit", type=Path, help="keep pytest's JUnit XML report here")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    version = importlib.metadata.version("oss2")
    tests = fetch_tests(version)
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        junit = args.junit or Path(work) / "junit.xml"
        server = subprocess.Popen(
            [sys.executable, "-m", "fakeoss", "--port", str(port),
             f"--access-key-id={ACCESS_KEY_ID}", f"--access-key-secret={ACCESS_KEY_SECRET}"],
            stdout=subprocess.DEVNULL,
            stderr=open(Path(work) / "fakeoss.log", "wb"),  # noqa: SIM115 - closed with the folder
        )  # fmt: skip
        try:
            wait_listening(port, server)
            env = {
                **os.environ,
                "OSS_TEST_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "OSS_TEST_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                "OSS_TEST_ENDPOINT": f"http://127.0.0.1:{port}",
                "OSS_TEST_REGION": "cn-hangzhou",
                "HTTP_PROXY": NOWHERE,
                "HTTPS_PROXY": NOWHERE,
                "http_proxy": NOWHERE,
                "https_proxy": NOWHERE,
                "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1",
            }
            deselect = [f"--deselect={name}" for name in NOT_ABOUT_THE_SERVER]
            subprocess.run(
                [sys.executable, "-m", "pytest", *SUITE, "-p", "no:cacheprovider",
                 "-p", "randomly", f"--randomly-seed={SEED}",
                 "--randomly-dont-reorganize", "-q", "--no-header", "-o", "addopts=",
                 "-o", "filterwarnings=", "--continue-on-collection-errors",
                 "--rootdir", str(tests), f"--junitxml={junit}",
                 *deselect, *timeout_args(), *args.pytest_args],
                cwd=tests,
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(10)
        total, failures = summarise(junit)
    passed = total - len(failures)
    for name, reason in NOT_ABOUT_THE_SERVER.items():
        print(f"NOT RUN {name}: {reason}")
    kms = [name for name, reason in failures if KMS_HOST in reason]
    for name, reason in failures:
        print(f"{'NEEDS KMS' if name in kms else 'FAILED'} {name}: {reason}")
    print(
        f"oss2 {version} SDK tests against fakeoss: passed {passed} of {total} "
        f"({len(kms)} of the rest chose a KMS-encrypting client: Alibaba KMS, not OSS)"
    )
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
