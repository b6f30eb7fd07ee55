#!/usr/bin/env python3
"""Wall time, CPU time and peak memory of `factotum check FILE` against Python's `json.load`.

Python 3.11 standard library only. From the repository root:

    cargo build --release
    cargo bench --bench check -- --generate-only   # writes benches/data/*.factfile
    python3 benches/cli.py

When a data file is missing, the script runs the second command itself. `CARGO_TARGET_DIR` is
honoured when looking for the binary.

Each run happens in a fresh wrapper process that starts the command, times it and reads the
children's resource usage, so the peak resident set belongs to that one command only. The
wrapper's own resident set (about 14 MB) is a floor: with vfork the child shares the wrapper's
memory until it execs, and the kernel counts that too. Every figure printed is above it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benches" / "data"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BINARY = TARGET / "release" / "factotum"

# (file, exit status `factotum check` must give, exit status of Python's `json.load`)
FILES = [
    ("10k.factfile", 0, 0),
    ("100k.factfile", 0, 0),
    ("100k-unknown-dependency.factfile", 1, 0),
    ("100k-unknown-key.factfile", 1, 0),
    ("100k-bad-code.factfile", 1, 0),
    # json.load reads as far as the error, near the end, and raises.
    ("100k-syntax-error.factfile", 1, 1),
]

# Runs the command given as arguments with its output discarded, then prints its wall time in
# nanoseconds, its exit status, its peak resident set in KiB (Linux's unit) and its user plus
# system CPU time in seconds.
WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter_ns()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter_ns() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(elapsed, status, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""

PYTHON_LOAD = "import json, sys; json.load(open(sys.argv[1]))"


@dataclass
class Run:
    """One run of one command."""

    wall_ms: float
    cpu_ms: float
    peak_rss_mb: float


@dataclass
class Measurement:
    """Several runs of one command: best times, median wall time, highest peak RSS."""

    best_ms: float
    median_ms: float
    best_cpu_ms: float
    peak_rss_mb: float


def run_once(command: list[str], expected_status: int) -> Run:
    """One run in a fresh wrapper; MB are 10^6 bytes."""
    output = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    elapsed_ns, status, max_rss_kib, cpu_s = output.split()
    if int(status) != expected_status:
        sys.exit(f"{' '.join(command)}: exit status {status}, expected {expected_status}")
    return Run(
        wall_ms=int(elapsed_ns) / 1e6,
        cpu_ms=float(cpu_s) * 1e3,
        peak_rss_mb=int(max_rss_kib) * 1024 / 1e6,
    )


def measure(command: list[str], runs: int, expected_status: int = 0) -> Measurement:
    """Best and median wall time, best CPU time and the highest peak RSS of `runs` runs."""
    results = [run_once(command, expected_status) for _ in range(runs)]
    walls = [run.wall_ms for run in results]
    return Measurement(
        best_ms=min(walls),
        median_ms=statistics.median(walls),
        best_cpu_ms=min(run.cpu_ms for run in results),
        peak_rss_mb=max(run.peak_rss_mb for run in results),
    )


def ensure_inputs(binary: Path) -> None:
    """Stops when the binary is missing; generates the data files when one is missing."""
    if not binary.exists():
        sys.exit(f"{binary} is missing: run `cargo build --release` first")
    if any(not (DATA / name).exists() for name, _, _ in FILES):
        print("generating benches/data with `cargo bench --bench check -- --generate-only`")
        subprocess.run(
            ["cargo", "bench", "--bench", "check", "--", "--generate-only"],
            cwd=ROOT,
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument(
        "--binary",
        type=Path,
        default=BINARY,
        help="the factotum to measure, such as a build of another commit (default: the release build)",
    )
    args = parser.parse_args()
    ensure_inputs(args.binary)

    floor = measure(["true"], args.runs)
    print(f"{args.binary}; best of {args.runs} runs; MB = 10^6 bytes; ratio = factotum / python")
    print(f"cpu = user + system time of the command; peak RSS floor {floor.peak_rss_mb:.0f} MB\n")
    print(
        f"{'file':<33} {'MB':>5} {'factotum ms':>11} {'python ms':>9} {'ratio':>6} "
        f"{'cpu ms':>7} {'py cpu':>7} {'ratio':>6} {'factotum RSS':>12} {'RSS/size':>8} "
        f"{'python RSS':>10}"
    )
    for name, status, python_status in FILES:
        path = DATA / name
        size_mb = os.path.getsize(path) / 1e6
        factotum = measure([str(args.binary), "check", str(path)], args.runs, status)
        python = measure([sys.executable, "-c", PYTHON_LOAD, str(path)], args.runs, python_status)
        print(
            f"{name:<33} {size_mb:>5.1f} {factotum.best_ms:>11.1f} {python.best_ms:>9.1f} "
            f"{factotum.best_ms / python.best_ms:>5.2f}x "
            f"{factotum.best_cpu_ms:>7.1f} {python.best_cpu_ms:>7.1f} "
            f"{factotum.best_cpu_ms / python.best_cpu_ms:>5.2f}x "
            f"{factotum.peak_rss_mb:>9.0f} MB {factotum.peak_rss_mb / size_mb:>7.2f}x "
            f"{python.peak_rss_mb:>7.0f} MB"
        )
        if factotum.median_ms > 1.2 * factotum.best_ms:
            print(f"  (factotum's median wall time was {factotum.median_ms:.1f} ms: a busy machine)")


if __name__ == "__main__":
    main()
