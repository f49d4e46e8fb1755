"""The scale tests reuse the browser protocol client of tests/serve."""

from __future__ import annotations

import sys
from pathlib import Path

_SERVE_TESTS = str(Path(__file__).resolve().parents[1] / "serve")
if _SERVE_TESTS not in sys.path:
    sys.path.insert(0, _SERVE_TESTS)
