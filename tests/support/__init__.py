"""Helpers the tests share (on pytest's pythonpath: `from support.loopback import free_port`).
No test module imports another, and none imports a conftest."""
