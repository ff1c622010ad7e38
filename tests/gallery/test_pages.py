from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient, FlaskCliRunner

from gallery import create_app
from support.gallery import PRODUCTION_OVERRIDES


def test_main_answers_the_welcome_text(client: FlaskClient) -> None:
    response = client.get("/main/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "welcome to CI/CD world 🌏"


def test_healthz_says_the_process_is_alive(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_page_404_is_a_small_html_page(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>404 Not Found</h1>" in response.get_data(as_text=True)


def test_api_404_is_json(client: FlaskClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["error"]["code"] == 404


@pytest.fixture
def failing_app(app_overrides: dict[str, object], instance_path: object) -> Flask:
    app = create_app(
        {
            **app_overrides,
            **PRODUCTION_OVERRIDES,
            "OSS_ACCESS_KEY_ID": "id",
            "OSS_ACCESS_KEY_SECRET": "secret",
        }
    )

    @app.get("/forbidden")
    @app.get("/api/forbidden")
    def forbidden() -> str:
        abort(403)

    @app.get("/boom")
    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    return app


@pytest.mark.parametrize("path", ["/forbidden", "/api/forbidden"])
def test_403_is_answered_in_the_right_shape(failing_app: Flask, path: str) -> None:
    response = failing_app.test_client().get(path)
    assert response.status_code == 403
    if path.startswith("/api/"):
        assert response.json is not None
        assert response.json["error"]["name"] == "Forbidden"
    else:
        assert "<h1>403 Forbidden</h1>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_500_in_production_shows_no_traceback(failing_app: Flask, path: str) -> None:
    response = failing_app.test_client().get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in body
    assert "secret internals" not in body
    if path.startswith("/api/"):
        assert response.json is not None
        assert response.json["error"]["code"] == 500


def test_shell_context_has_the_app(app: Flask, runner: FlaskCliRunner) -> None:
    context = app.make_shell_context()
    assert context["app"] is app
    assert {"settings", "redis", "bucket"} <= set(context)


def test_flask_cli_finds_the_app(instance_path: Path) -> None:
    env = {**os.environ, "FLASK_CONFIG": "testing", "GALLERY_INSTANCE_PATH": str(instance_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gallery", "routes"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "main.index" in result.stdout
    assert "/readyz" in result.stdout


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_500_is_logged_with_its_traceback_and_request_id(
    failing_app: Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = failing_app.test_client().get(path)
    request_id = response.headers["X-Request-ID"]
    (logged,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert request_id in logged.getMessage()
    assert logged.exc_info is not None
    assert "secret internals" in caplog.text
    assert request_id in response.get_data(as_text=True)
    assert PRODUCTION_OVERRIDES["SECRET_KEY"] not in caplog.text
    assert PRODUCTION_OVERRIDES["GALLERY_API_TOKEN"] not in caplog.text


def test_request_id_from_nginx_is_kept_and_a_bad_one_replaced(client: FlaskClient) -> None:
    given = "0123456789abcdef0123456789abcdef"
    assert client.get("/main/", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    replaced = client.get("/main/", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert len(replaced) == 32
    assert "<" not in replaced
