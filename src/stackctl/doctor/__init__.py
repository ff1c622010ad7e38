"""`invoke doctor`: checks of this machine (or a deploy host), one line each with its fix."""
