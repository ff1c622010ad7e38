from __future__ import annotations

from typing import Any

from flask import Flask

from gallery import create_app
from support.loopback import closed_port_url


def test_readyz_names_redis_when_it_is_down(app_overrides: dict[str, Any]) -> None:
    app: Flask = create_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["status"] == "fail"
    assert response.json["checks"]["redis"]["status"] == "fail"
    assert "Connection" in response.json["checks"]["redis"]["error"]


def test_readyz_names_oss_when_it_is_unreachable(app_overrides: dict[str, Any]) -> None:
    app = create_app({**app_overrides, "OSS_ENDPOINT": closed_port_url("http")})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"]["redis"] == {"status": "ok"}
    assert response.json["checks"]["oss"]["status"] == "fail"
