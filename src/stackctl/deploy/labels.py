"""Labels of what a deploy creates on a host: how it finds its containers again."""

from __future__ import annotations

APP = "org.aliecs.deploy.app"
ROLE = "org.aliecs.deploy.role"  # web, proxy, lock, release-command
VERSION = "org.aliecs.deploy.version"  # the git commit the release was built from
DIRTY = "org.aliecs.deploy.dirty"  # "true" when the tree had uncommitted changes
DEPLOYED_AT = "org.aliecs.deploy.deployed-at"  # unix seconds, ordering the releases
LOCK_HOLDER = "org.aliecs.deploy.lock.holder"
LOCK_SINCE = "org.aliecs.deploy.lock.since"
LOCK_MESSAGE = "org.aliecs.deploy.lock.message"
