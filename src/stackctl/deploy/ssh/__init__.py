"""The SSH target: each host's own dockerd over SSH, one container per role and release, an nginx
proxy switched between releases (Kamal's model)."""
