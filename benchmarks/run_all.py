"""Run every benchmark in quick mode, one after the other; print one JSON object.

Each script runs in its own process (as it would from the shell); a failing
script is reported with its error and the others still run.

    .venv/bin/python benchmarks/run_all.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "throughput.py",
    "density.py",
    "interruption.py",
    "tool_overhead.py",
    "startup_memory.py",
    "echo.py",
)


def main() -> None:
    results: dict[str, Any] = {}
    for script in SCRIPTS:
        print(f"running {script} --quick", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, str(HERE / script), "--quick"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode == 0:
            results[script] = json.loads(done.stdout)
        else:
            results[script] = {"error": done.returncode, "stderr": done.stderr[-2000:]}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
