"""Shared test setup: figures closed after each test, hypothesis profiles.

Hypothesis runs the ``ci`` profile when the environment variable ``CI`` is set (to anything but
an empty string): examples derived from each test's name, so every CI run tries the same ones and
a failure reproduces, with the reproduction blob printed. Elsewhere the ``dev`` profile draws new
examples on every run, to explore more over time. The helper modules beside the tests (``tiny``,
``fuzz_support``, ``memo_runs``) are importable through pytest's ``pythonpath`` setting.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

#: Profile for continuous integration: the same examples on every run, no time limit per example.
CI_PROFILE = "ci"
#: Profile on a developer's machine: fresh examples every run, no time limit per example.
DEV_PROFILE = "dev"

_DEFAULT = settings.get_profile("default")
settings.register_profile(
    CI_PROFILE, _DEFAULT, derandomize=True, database=None, deadline=None, print_blob=True
)
settings.register_profile(DEV_PROFILE, _DEFAULT, derandomize=False, deadline=None, print_blob=True)
settings.load_profile(CI_PROFILE if os.environ.get("CI") else DEV_PROFILE)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
