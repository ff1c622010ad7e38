"""Deploy's own errors, beside stackctl's: each str() is one line a user can act on."""

from __future__ import annotations

from stackctl.errors import ServiceUnhealthy, StackError


class DeployLocked(StackError):
    """Another deploy holds a host's lock: says who, since when and why."""


class DeployFailed(StackError):
    """A deploy stopped before moving traffic (a transfer, a release command)."""


class ReleaseUnhealthy(ServiceUnhealthy):
    """The new release never passed its health check; the old one still serves."""


class ReleaseCommandFailed(ServiceUnhealthy):
    """The release command (migrations) failed: nothing was switched."""


class LogsLost(StackError):
    """A host's connection ended while its logs were read or followed."""
