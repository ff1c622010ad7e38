"""HTTPS for the stack and the deploy: the settings (`settings`), checks of certificate files
(`certcheck`), the machine's local CA for `invoke up` (`localca`) and the compose override each
HTTPS mode adds (`overrides`). Pure functions over files and values: no Docker here."""
