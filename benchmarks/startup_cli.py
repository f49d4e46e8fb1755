"""Start-up time of the ``fullduplex`` command against a bare interpreter.

Runs, in fresh processes of the same virtual environment, several times each
(interleaved, so a noisy neighbour hits every command alike):

- ``python -c pass``            the floor: the interpreter alone;
- ``fullduplex --version``      must load no plugin at all;
- ``fullduplex plugins``        loads the plugins and lists what they registered.

Prints JSON with the median wall time of each (milliseconds) and each command's
difference to the floor (target: within 150 ms). The ``.pyc`` files are
written by a warm-up run first, as after any install. Asserts nothing.

    .venv/bin/python benchmarks/startup_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def _wall_ms(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command")
    args = parser.parse_args()

    fullduplex = _console_script()
    commands: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fullduplex --version": [*fullduplex, "--version"],
        "fullduplex plugins": [*fullduplex, "plugins"],
    }
    for command in commands.values():  # warm-up: compile .pyc, fill the OS file cache
        _wall_ms(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            samples[name].append(_wall_ms(command))

    medians = {name: round(statistics.median(runs), 1) for name, runs in samples.items()}
    floor = medians["python -c pass"]
    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "repeat": args.repeat,
                "cpus": os.cpu_count(),
                "median_ms": medians,
                "over_floor_ms": {
                    name: round(value - floor, 1)
                    for name, value in medians.items()
                    if name != "python -c pass"
                },
                "target_over_floor_ms": 150,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
