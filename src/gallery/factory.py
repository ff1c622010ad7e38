"""The app factory: `create_app`, which Flask's CLI, gunicorn and the Celery worker use."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gallery import (
    api,
    auth,
    clients,
    commands,
    decoding,
    delivery,
    errors,
    health,
    main,
    metrics,
    requestid,
    security,
    sessions,
    tasks,
    web,
)
from gallery.settings import PROJECT_ROOT, choose_config_name, load_settings


def create_app(config: str | Mapping[str, Any] | None = None) -> Flask:
    """Make the app. `config` is a config name, or a mapping of overrides (tests).

    A mapping may carry CONFIG_NAME to choose the base config; else FLASK_CONFIG, else develop.
    Raises ConfigError (one line) when a setting is missing or invalid.
    """
    import os

    overrides: dict[str, Any] = {}
    if isinstance(config, Mapping):
        overrides = dict(config)
        name = choose_config_name(overrides.pop("CONFIG_NAME", None), os.environ)
    else:
        name = choose_config_name(config, os.environ)

    instance_path = Path(os.environ.get("GALLERY_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    settings = load_settings(name, instance_path=instance_path, overrides=overrides)
    app.config.from_mapping(settings.flask_config())
    app.config["SETTINGS"] = settings

    counted = metrics.init_app(app, enabled=settings.METRICS_ENABLED)
    clients.init_app(app, settings, counted.dependency_failed)
    tasks.init_app(app, settings)
    auth.init_app(app, settings)
    decoding.init_app(app, settings.IMAGE_DECODE_CONCURRENCY)
    app.config["PERMANENT_SESSION_LIFETIME"] = settings.SESSION_LIFETIME_SECONDS
    app.session_interface = sessions.CookieSessions()
    if settings.TRUSTED_PROXIES:
        # Behind nginx: the client's address (login throttling) is what nginx saw, and the
        # scheme (Secure session cookies, https URLs) is nginx's X-Forwarded-Proto. nginx sets
        # that header, never passes a client's on (and says https behind a load balancer only
        # when the balancer's address is trusted), and web is reachable only through nginx.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.TRUSTED_PROXIES, x_proto=settings.TRUSTED_PROXIES
        )
    app.register_blueprint(main.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(delivery.bp)
    app.register_blueprint(web.bp)
    errors.register_error_handlers(app)
    security.init_app(app)
    requestid.init_app(app)
    commands.init_app(app)

    @app.shell_context_processor
    def shell_context() -> dict[str, object]:
        found = clients.clients(app)
        return {
            "app": app,
            "settings": settings,
            "redis": found.redis,
            "bucket": found.bucket,
            "store": found.store,
            "celery": tasks.celery_of(app),
        }

    return app
