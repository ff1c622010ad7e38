"""Headless Debian chromium for the HTTPS tests: a host name resolved to 127.0.0.1 (with the
ports a deploy publishes there), the served certificate trusted, and the login-upload-thumbnail
walk a user makes on the production-config app."""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from support.http_upload import png

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def spki_hash(leaf: x509.Certificate) -> str:
    """The base64 SHA-256 of the certificate's public key, as chromium's
    --ignore-certificate-errors-spki-list takes it."""
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


# Headless and quiet: no sandbox (root in a container), no GPU, nothing fetched in the background.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def headless_chromium(*more_flags: str) -> Iterator[Any]:
    """Debian's chromium under chromedriver with FLAGS and `more_flags`, in a profile of its own
    (HSTS pins and cookies live there) removed after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium is missing: apt-get install -y chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, *more_flags, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def chromium(resolver_rules: Sequence[str], leaf: x509.Certificate) -> Iterator[Any]:
    """A headless chromium whose resolver follows `resolver_rules` (e.g. "MAP name:443
    127.0.0.1:8443") and which trusts `leaf`'s key, as a root in its store would make it trust
    the chain."""
    with headless_chromium(
        "--host-resolver-rules=" + ", ".join(resolver_rules),
        f"--ignore-certificate-errors-spki-list={spki_hash(leaf)}",
    ) as driver:
        yield driver


def log_in_upload_and_see_thumbnail(
    driver: Any, typed: str, expected: str, password: str, folder: Path
) -> None:
    """Type the plain-HTTP login address `typed`, land on `expected` (HTTPS) before any form is
    shown, log in as admin, check the session cookie's flags, upload a picture and wait for its
    320-pixel thumbnail, made by the worker."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(driver, 60)
    picture = folder / "harbour.png"
    picture.write_bytes(png((640, 480)))
    driver.get(typed)
    assert driver.current_url == expected
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
    try:
        wait.until(seen.presence_of_element_located((By.ID, "upload-form")))
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text[:300]
        raise AssertionError(f"no upload form at {driver.current_url}: {body!r}") from None
    (cookie,) = [c for c in driver.get_cookies() if c["name"] == "session"]
    assert cookie["secure"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"

    driver.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(picture))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    flash = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".flash"))).text
    assert "Uploaded" in flash, flash
    thumbnail = wait.until(
        seen.presence_of_element_located((By.CSS_SELECTOR, ".tile[data-status=ready] img.thumb"))
    )
    wait.until(lambda _: driver.execute_script("return arguments[0].naturalWidth", thumbnail))
    assert driver.execute_script("return arguments[0].naturalWidth", thumbnail) == 320
