"""Whether a test failed, for fixtures that add an account of it at teardown (the deploy
conftest's report hook sets `report_call` on each item)."""

from __future__ import annotations

import pytest


def failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return bool(report is not None and report.failed)
