"""Shared test configuration: the helper modules' path and the Hypothesis profiles.

Select a Hypothesis profile with the ``HYPOTHESIS_PROFILE`` environment
variable: ``ci`` (the default) is derandomized, keeps no example database and
has no deadline, so every run tries the same examples and a slow machine never
fails a test on timing; ``dev`` is Hypothesis' own default, random and with its
deadline, for hunting new counterexamples locally.
"""

from __future__ import annotations

import os
import pathlib
import sys

from hypothesis import settings

# pytest runs with --import-mode=importlib, which leaves sys.path alone; the
# test modules import their shared helpers (fakes, strategies) from here.
_TESTS = str(pathlib.Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
