"""Labels of what a deploy creates on a host: how it finds its containers again."""

from __future__ import annotations

APP = "org.aliecs.deploy.app"
KIND = "org.aliecs.deploy.kind"  # role, accessory, proxy, secrets, secrets-helper, exec
ROLE = "org.aliecs.deploy.role"  # the compose service; or lock, release-command, network
VERSION = "org.aliecs.deploy.version"  # the git commit the release was built from
RELEASE = VERSION + ".release"  # the release name (commit, or commit-dirty-<id>)
DIRTY = "org.aliecs.deploy.dirty"  # "true" when the tree had uncommitted changes
DEPLOYED_AT = "org.aliecs.deploy.deployed-at"  # unix seconds, ordering the releases
IMAGE = "org.aliecs.deploy.image"  # the image reference a container was created from
EXEC_STARTED = "org.aliecs.deploy.exec.started"  # unix seconds a Swarm one-off was created at
LOCK_HOLDER = "org.aliecs.deploy.lock.holder"
LOCK_SINCE = "org.aliecs.deploy.lock.since"
LOCK_MESSAGE = "org.aliecs.deploy.lock.message"
