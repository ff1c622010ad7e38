"""The stack on this machine: `up`, `down`, `ps` and what they wait on (the start order, health,
logs, the port check), one-off runs (`exec`, `test`), the workspace a command starts from, and
`invoke metrics`."""
