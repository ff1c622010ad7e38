"""A service's `healthcheck`: the test compose v2 hands the engine, its timings, `disable`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks


class Healthcheck:
    """Reads `healthcheck`; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def read(self, value: object, path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            self.reader.mapping(value, path, "a mapping with test, interval, ..."),
            path,
            ("test", "interval", "timeout", "start_period", "retries", "disable"),
        )
        healthcheck: dict[str, object] = {}
        if settings.get("test") is not None:
            healthcheck["test"] = self._test(settings["test"], child(path, "test"))
        for key in ("interval", "timeout", "start_period"):
            if settings.get(key) is not None:
                healthcheck[key] = self.reader.duration(settings[key], child(path, key))
        if settings.get("retries") is not None:
            healthcheck["retries"] = self.reader.integer(
                settings["retries"], child(path, "retries")
            )
        if settings.get("disable") is not None and self.reader.boolean(
            settings["disable"], child(path, "disable")
        ):
            healthcheck["test"] = ["NONE"]
        return healthcheck

    def _test(self, value: object, path: str) -> list[str]:
        if isinstance(value, str):
            return ["CMD-SHELL", value]
        items = self.reader.sequence(value, path, 'a command string or a list like ["CMD", ...]')
        test = [self.reader.text(item, child(path, i), "argument") for i, item in enumerate(items)]
        if not test or test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            self.reader.fail(
                path,
                f'invalid healthcheck test {show(value)}: a list starts with "CMD", "CMD-SHELL"'
                ' or "NONE"',
            )
        return test
