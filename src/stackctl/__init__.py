"""stackctl: the engine under tasks.py: reads compose.yaml, drives Docker through its SDK."""
