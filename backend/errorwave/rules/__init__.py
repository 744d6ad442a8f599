"""Learning rules: one module each, found automatically, so a new rule is one new file."""

from __future__ import annotations

import importlib
import pkgutil

from errorwave.rules.base import Rule

registry: dict[str, type[Rule]] = {}


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Rule) and obj.__module__ == module.__name__
                    and "name" in vars(obj)):
                registry[obj.name] = obj


_discover()

__all__ = ["Rule", "registry"]
