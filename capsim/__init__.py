"""capsim: power-procurement capacity simulator for data-centre portfolios.

The Python API (``capsim.load``, ``capsim.run``, ``capsim.open_run``, ``capsim.simulate_one``,
``capsim.Run``) lives in ``capsim.api`` and is imported on first use, so that ``import capsim``
and ``capsim --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

from capsim.version import __version__

__all__ = ["Run", "__version__", "load", "open_run", "run", "simulate_one"]

_API = frozenset({"Run", "load", "open_run", "run", "simulate_one"})


def __getattr__(name: str) -> Any:
    """Import the API on first access to one of its names (PEP 562)."""
    if name in _API:
        from capsim import api

        return getattr(api, name)
    raise AttributeError(f"module 'capsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Module attributes, the lazily imported API included."""
    return sorted({*globals(), *_API})
