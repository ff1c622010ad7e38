"""Typed errors of stackctl. Each one's str() is a single line a user can act on.

tasks.py turns them into `invoke.Exit(str(error), code=1)`; nothing below the edge prints them.
"""

from __future__ import annotations


class StackError(Exception):
    """Base of every error stackctl reports to a user."""


class ComposeError(StackError):
    """compose.yaml (or .env, or an env_file) is invalid: names the file, the path and the value."""


class EngineUnreachable(StackError):
    """No Docker engine answers at the configured address."""


class BaseImageMissing(StackError):
    """A base image a Dockerfile builds FROM is not in the engine."""


class BuildError(StackError):
    """An image build failed: names the service, the failing step and the tail of its log."""

    def __init__(self, message: str, *, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail or []


class ServiceUnhealthy(StackError):
    """A service did not become healthy in time: names it and keeps its last log lines."""

    def __init__(self, message: str, *, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail or []


class UsageError(StackError):
    """The command's options do not fit together: exit code 2, as for a usage error."""


class SettingsError(StackError):
    """A stackctl setting (environment or .env) is invalid."""


class CertificateRefused(StackError):
    """A certificate or key file cannot be served: names the file and what to do."""
