"""Third-party modules loaded on their first use instead of when something imports them.

`import docker` imports paramiko (and with it cryptography's bindings) for ssh:// engines:
about 0.1 s that every `invoke up`, `down` or `ps` paid, while only a deploy talks SSH.
docker-py touches paramiko only inside its SSH adapter's methods, so a stand-in module that
loads the real one on its first attribute access changes nothing else.

Not the standard library's LazyLoader: before Python 3.12 a second `import paramiko` (docker-py's)
reads the module's `__spec__`, which runs the deferred code at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

# Two threads' first uses (a deploy connects to hosts side by side) load the module once.
_first_use = threading.RLock()


class _Deferred(ModuleType):
    """Stands in sys.modules until an attribute it lacks is read: then the real module is
    imported and its namespace copied in, so names bound to the stand-in keep working."""

    def __getattr__(self, attr: str) -> Any:  # only for attributes not (yet) copied in
        return getattr(load(self.__name__), attr)


def defer(name: str) -> None:
    """Let `import name` return a stand-in that imports the module on its first attribute read.

    Nothing changes for a module already imported or not installed (its importers still get
    ImportError).
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec  # what a later `import name` looks at (not initializing)
    sys.modules[name] = stand_in


def load(name: str) -> ModuleType:
    """The real module, imported now if it was deferred."""
    with _first_use:
        module = sys.modules.get(name)
        if not isinstance(module, _Deferred):
            return importlib.import_module(name)
        del sys.modules[name]
        try:
            real = importlib.import_module(name)
        except BaseException:
            sys.modules[name] = module
            raise
        module.__dict__.update(real.__dict__)
        return real
