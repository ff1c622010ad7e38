"""stackctl: the engine under tasks.py: reads compose.yaml, drives Docker through its SDK."""

from stackctl import lazyimport

# Before anything imports docker, which imports paramiko for ssh:// engines; only a deploy
# uses it (stackctl.deploy.hosts loads it for real).
lazyimport.defer("paramiko")
