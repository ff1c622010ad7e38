"""What `up` wants each container to be: its configuration and config hash, and what to keep,
start, recreate or create (converge), with the secrets it mounts (secretmounts). No engine calls:
it compares what the engine answered (engine/'s typed views) with compose.yaml."""
