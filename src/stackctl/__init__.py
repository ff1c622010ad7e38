"""stackctl: the engine under tasks.py. Reads compose.yaml and drives Docker through the Docker SDK."""
