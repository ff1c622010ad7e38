"""The gallery in headless Debian chromium: log in, upload, see the thumbnail, delete."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from gallery import create_app
from support import pictures
from support.chromium import headless_chromium

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_worker")]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def live_gallery(
    instance_path: Path, app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> Iterator[str]:
    """The app behind werkzeug's threaded server on a free loopback port."""
    app = create_app(app_overrides)
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="live-gallery", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    # Selenium Manager must not look for browsers or report usage: everything is local.
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    with headless_chromium("--window-size=1100,800") as driver:
        yield driver


def test_user_logs_in_uploads_sees_the_thumbnail_and_deletes(
    live_gallery: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, 20)
    picture = tmp_path / "harbour at dusk.jpg"
    picture.write_bytes(pictures.jpeg(1600, 1000))

    browser.get(f"{live_gallery}/login")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("admin")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait.until(seen.presence_of_element_located((By.ID, "upload-form")))

    browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(picture))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Uploaded"))

    thumbnail = wait.until(
        seen.presence_of_element_located((By.CSS_SELECTOR, ".tile[data-status=ready] img.thumb"))
    )
    wait.until(lambda _: browser.execute_script("return arguments[0].naturalWidth", thumbnail))
    assert browser.execute_script("return arguments[0].naturalWidth", thumbnail) == 320
    assert "harbour at dusk.jpg" in browser.find_element(By.CSS_SELECTOR, ".tile .name").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "gallery.png"))
    # Headless chromium will not make a window narrower than 500 px: emulate a phone instead.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    ), "the page scrolls sideways on a phone"
    browser.save_screenshot(str(ARTIFACTS / "gallery-phone.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    browser.find_element(By.CSS_SELECTOR, ".tile .delete button").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Deleted."))
    assert browser.find_elements(By.CSS_SELECTOR, ".tile") == []
