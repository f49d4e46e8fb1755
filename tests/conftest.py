"""Settings for the whole test suite.

Hypothesis explores new random examples on every run, which is what a developer
wants locally; in CI a property test must not fail at random on one push and
pass on the next, so with ``CI=true`` the ``ci`` profile derandomizes it (the
same examples every run, no example database).
"""

from __future__ import annotations

import importlib.util
import os

# environments without hypothesis (the `clients` env) have no property test to set up
if importlib.util.find_spec("hypothesis") is not None:
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
    if os.environ.get("CI", "").lower() == "true":
        settings.load_profile("ci")
