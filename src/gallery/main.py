"""The seed's blueprint, kept: `/main/` greets."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__, url_prefix="/main")

WELCOME = "welcome to CI/CD world 🌏"


@bp.get("/")
def index() -> str:
    return WELCOME
