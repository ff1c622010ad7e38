"""`invoke deploy`: ship the web app to ECS hosts that run only sshd and dockerd (Kamal 2's way).

settings: one validated place; hosts: the Docker SDK over SSH; transfer: images by registry or
streamed over SSH; lock: one deploy per host at a time; cutover: boot, health check, switch the
proxy, drain; plan: batches and the dry run; run: the deploy and rollback that tie them together.
"""
