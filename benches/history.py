#!/usr/bin/env python3
"""Benchmark of `factotum history` and `factotum show` on a store holding 100,000 runs.

Python 3.11 standard library only. From the repository root:

    python3 benches/history.py                # builds target/release/factotum first
    python3 benches/history.py --no-build     # uses the binary as it is
    python3 benches/history.py --runs 50000   # another store size

The store is made the way a real one is, then multiplied: the release binary runs three small
jobs for real into a new `sqlite:` store (ten tasks each; "nightly load" succeeds twice,
"monthly report" once, "flaky export" fails at its fifth task, so the rest are skipped). Python's
sqlite3 then copies those runs, with their task rows, until the store holds `--runs` runs: each
copy gets an id and times five minutes before the next, in the run id format
(`20261202T093939123Z-4f2a9c`), so the ids sort by time as factotum's do. Of the copies,
"monthly report" gets one in 10,000 (a job with few runs), "flaky export" one in 7 and
"nightly load" the rest (a job with many). The columns are read from the store, so the copy
follows the schema factotum made. Nothing is analysed (`ANALYZE`), as in a store in use.

Then it checks what the commands print against the store (the newest ids, the job filter,
`show last`), and times, in turns and after a wait for a quiet machine as `benches/run.py` does:

  - `factotum --version`: process start, the floor of every command;
  - `factotum history` (a table of the newest 20 runs);
  - `factotum history JOB` for the job with many runs and for the one with few;
  - `factotum history --format json --limit 100`;
  - `factotum show last`;
  - `factotum history`, `history JOB` (few runs) and `show last` again with the store's pages
    dropped from the page cache before each run (`posix_fadvise(DONTNEED)` on the store file
    only), as after a reboot; the store is read back into the cache after each.

The reference, measured in the same turns: Python's sqlite3 (the SQLite Python was built with)
opening the store and running the query each command needs, the same shape as factotum's
(run columns with the task-count subqueries, newest first), fetching every row. The query plans
are printed, so a missing index shows as a `SCAN` or a `TEMP B-TREE`.

Each command is started with its output on /dev/null and must exit 0; the figure is the wall
time from the benchmark's `subprocess.run` call to its return, median and best of `--repeat`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# run.py's quiet-machine gate, machine description and factfile writer, shared rather than
# copied; importing it must not leave a __pycache__ in the repository.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as run_bench  # noqa: E402

ROOT = run_bench.ROOT
FACTOTUM = run_bench.FACTOTUM
GOAL_MS = 100
TASKS_PER_RUN = 10
SPACING_MS = 5 * 60 * 1000  # between the copied runs: 100,000 runs span about a year
FEW_EVERY = 10_000  # "monthly report": one copy in this many
FLAKY_EVERY = 7  # "flaky export": one copy in this many

# The run columns of a summary, then its task counts, as `history` and `show` read them.
SUMMARY = """
SELECT r.id, r.job, r.file, r.job_hash, r.env, r.tags, r.host, r.user_name, r.pid,
       r.process_identity, r.started_at, r.ended_at, r.outcome, r.exit_code, r.resumes,
       r.heartbeat_at,
       (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id),
       (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id
            AND t.state IN ('succeeded', 'finished early')),
       (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id
            AND t.state IN ('failed', 'interrupted')),
       (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id AND t.state = 'skipped')
FROM factotum_runs r
"""
# factotum's listing has one shape with and without a job, so without one it says `? IS NULL`.
NEWEST = SUMMARY + "WHERE ? IS NULL ORDER BY r.id DESC LIMIT ?"
NEWEST_OF_FILE = SUMMARY + "WHERE r.file = ? ORDER BY r.id DESC LIMIT ?"
ONE_RUN = SUMMARY + "WHERE r.id = ?"
TASKS_OF_RUN = "SELECT * FROM factotum_tasks WHERE run_id = ? ORDER BY plan_order, position"


def job_tasks(prefix: str, fail_at: int | None) -> list[run_bench.Task]:
    """Ten tasks, each after the one before, each printing a line (so the tails are not empty);
    the one at `fail_at` exits 1."""
    tasks = []
    for index in range(TASKS_PER_RUN):
        command = f"echo {prefix} step {index} done"
        if index == fail_at:
            command = f"echo {prefix} step {index} cannot reach the bucket >&2; exit 1"
        depends = [f"{prefix}-{index - 1}"] if index else []
        tasks.append(run_bench.Task(f"{prefix}-{index}", command, depends))
    return tasks


JOBS = {
    # key: (job name, task name prefix, failing task, real runs recorded)
    "many": ("nightly load", "load", None, 2),
    "few": ("monthly report", "report", None, 1),
    "flaky": ("flaky export", "export", 4, 1),
}


def record_real_runs(scratch: Path, store: Path, env: dict[str, str]) -> dict[str, Path]:
    """Runs each job for real into `store`; the factfiles by job key."""
    files = {}
    for key, (name, prefix, fail_at, times) in JOBS.items():
        path = scratch / f"{key}.factfile"
        path.write_text(run_bench.factfile_text(name, job_tasks(prefix, fail_at)))
        files[key] = path
        for _ in range(times):
            result = subprocess.run(
                [str(FACTOTUM), "run", str(path), "--store", f"sqlite:{store}"],
                cwd=scratch, env=env, capture_output=True, text=True,
            )
            expected = 0 if fail_at is None else 2  # factotum 0.7: 2 when a task failed
            if result.returncode != expected:
                sys.exit(f"`factotum run {path}` exited {result.returncode}, not {expected}:\n"
                         f"{result.stderr}")
    return files


def run_id(at_ms: int, chance: random.Random) -> str:
    moment = datetime.datetime.fromtimestamp(at_ms / 1000, datetime.timezone.utc)
    return f"{moment:%Y%m%dT%H%M%S}{at_ms % 1000:03}Z-{chance.getrandbits(24):06x}"


def multiply(store: Path, total: int, files: dict[str, Path]) -> None:
    """Copies the recorded runs until the store holds `total` runs, all older than them."""
    connection = sqlite3.connect(store)
    try:
        run_columns = [row[1] for row in connection.execute("PRAGMA table_info(factotum_runs)")]
        task_columns = [row[1] for row in connection.execute("PRAGMA table_info(factotum_tasks)")]
        templates: dict[str, tuple[dict, list[dict]]] = {}
        for row in connection.execute("SELECT * FROM factotum_runs ORDER BY id"):
            run = dict(zip(run_columns, row))
            key = next(k for k, path in files.items() if run["file"] == str(path.resolve()))
            tasks = [
                dict(zip(task_columns, task))
                for task in connection.execute(
                    "SELECT * FROM factotum_tasks WHERE run_id = ? ORDER BY position", [run["id"]]
                )
            ]
            templates.setdefault(key, (run, tasks))
        recorded = connection.execute("SELECT count(*) FROM factotum_runs").fetchone()[0]
        oldest = connection.execute("SELECT min(started_at) FROM factotum_runs").fetchone()[0]
        copies = total - recorded
        chance = random.Random(12)

        def copied() -> list[tuple[dict, int, str]]:
            plan = []
            for index in range(copies):
                key = ("few" if index % FEW_EVERY == FEW_EVERY // 2 else
                       "flaky" if index % FLAKY_EVERY == 3 else "many")
                started = oldest - (copies - index) * SPACING_MS
                plan.append((templates[key], started, run_id(started, chance)))
            return plan

        def shifted(value: int | None, by: int) -> int | None:
            return None if value is None else value + by

        run_insert = (f"INSERT INTO factotum_runs ({', '.join(run_columns)}) "
                      f"VALUES ({', '.join('?' * len(run_columns))})")
        task_insert = (f"INSERT INTO factotum_tasks ({', '.join(task_columns)}) "
                       f"VALUES ({', '.join('?' * len(task_columns))})")
        plan = copied()

        def run_rows():
            for (run, _), started, new_id in plan:
                by = started - run["started_at"]
                row = dict(run, id=new_id, started_at=started,
                           ended_at=shifted(run["ended_at"], by),
                           heartbeat_at=shifted(run["heartbeat_at"], by))
                yield tuple(row[column] for column in run_columns)

        def task_rows():
            for (run, tasks), started, new_id in plan:
                by = started - run["started_at"]
                for task in tasks:
                    row = dict(task, run_id=new_id, started_at=shifted(task["started_at"], by),
                               ended_at=shifted(task["ended_at"], by))
                    yield tuple(row[column] for column in task_columns)

        with connection:
            connection.executemany(run_insert, run_rows())
            connection.executemany(task_insert, task_rows())
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def store_counts(store: Path, files: dict[str, Path]) -> dict:
    connection = sqlite3.connect(store)
    try:
        counts = {"runs": connection.execute("SELECT count(*) FROM factotum_runs").fetchone()[0],
                  "tasks": connection.execute("SELECT count(*) FROM factotum_tasks").fetchone()[0]}
        for key, path in files.items():
            counts[key] = connection.execute(
                "SELECT count(*) FROM factotum_runs WHERE file = ?", [str(path.resolve())]
            ).fetchone()[0]
        return counts
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# The reference: the same queries through Python's sqlite3.


def reference_query(store: Path, sql: str, parameters: list) -> int:
    """Opens the store, runs one query, fetches every row; how many rows."""
    connection = sqlite3.connect(store)
    try:
        return len(connection.execute(sql, parameters).fetchall())
    finally:
        connection.close()


def show_last_query(store: Path) -> int:
    connection = sqlite3.connect(store)
    try:
        (newest,) = connection.execute(
            "SELECT id FROM factotum_runs ORDER BY id DESC LIMIT 1").fetchone()
        connection.execute(ONE_RUN, [newest]).fetchall()
        return len(connection.execute(TASKS_OF_RUN, [newest]).fetchall())
    finally:
        connection.close()


def query_plans(store: Path, cases: list[dict]) -> list[str]:
    connection = sqlite3.connect(store)
    lines = []
    try:
        for case in cases:
            for sql, parameters in case.get("plans", []):
                plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
                details = "; ".join(row[-1] for row in plan)
                lines.append(f"- {case['label']}: {details}")
    finally:
        connection.close()
    return lines


# ---------------------------------------------------------------------------------------------
# Checking and timing the commands.


def factotum(store: Path, *words: str) -> list[str]:
    return [str(FACTOTUM), *words, "--store", f"sqlite:{store}"]


def checked_output(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stderr}")
    if result.stderr:
        sys.exit(f"`{' '.join(command)}` warned:\n{result.stderr}")
    return result.stdout


def check_outputs(store: Path, files: dict[str, Path], env: dict[str, str]) -> None:
    """What the commands print is what the store holds."""
    connection = sqlite3.connect(store)
    try:
        newest = [row[0] for row in connection.execute(
            "SELECT id FROM factotum_runs ORDER BY id DESC LIMIT 100")]
        few = [row[0] for row in connection.execute(
            "SELECT id FROM factotum_runs WHERE file = ? ORDER BY id DESC LIMIT 20",
            [str(files["few"].resolve())])]
    finally:
        connection.close()
    listed = json.loads(checked_output(
        factotum(store, "history", "--format", "json", "--limit", "100"), env))
    if [run["id"] for run in listed] != newest:
        sys.exit("history --format json --limit 100 does not list the 100 newest runs")
    if any(run["tasks"]["total"] != TASKS_PER_RUN for run in listed):
        sys.exit(f"history counts other than {TASKS_PER_RUN} tasks in a run")
    of_few = json.loads(checked_output(
        factotum(store, "history", str(files["few"]), "--format", "json"), env))
    if [run["id"] for run in of_few] != few:
        sys.exit("history JOB does not list the newest runs of that job")
    table = checked_output(factotum(store, "history"), env).splitlines()
    if len(table) != 21 or not table[1].startswith(newest[0]):
        sys.exit("history does not print a header and the 20 newest runs")
    shown = checked_output(factotum(store, "show", "last"), env)
    if not shown.startswith(f"Run {newest[0]} "):
        sys.exit("show last does not show the newest run")


def timed(action) -> float:
    began = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - began) / 1e9


def run_quietly(command: list[str], env: dict[str, str]):
    def action() -> None:
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if result.returncode != 0:
            sys.exit(f"`{' '.join(command)}` exited {result.returncode}: {result.stderr!r}")
    return action


def evict(store: Path) -> None:
    """Drops the store's pages from the page cache, as after a reboot or a long idle: this file
    only, so the rest of the machine keeps its cache."""
    descriptor = os.open(store, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def warm(store: Path) -> None:
    """Reads the whole store, so that the cases measured warm find it in the page cache."""
    with open(store, "rb") as file:
        while file.read(1 << 20):
            pass


def measure(cases: list[dict], repeat: int, gate: run_bench.QuietGate) -> None:
    """Each case's command and reference, `repeat` times after one unmeasured turn, all cases
    in each turn, each taking each place in the order in turn. A case's `before`, if it has
    one, runs untimed before each of its command and reference; a store evicted for a cold case
    is read back into the page cache at once, so that it only affects that case."""
    actions = [(case, side) for case in cases for side in ("command", "reference")
               if case.get(side)]
    for case in cases:
        case["times"] = {"command": [], "reference": []}
    for turn in range(repeat + 1):
        gate.wait()
        shift = turn % len(actions)
        for case, side in actions[shift:] + actions[:shift]:
            if case.get("before"):
                case["before"]()
            seconds = timed(case[side])
            if case.get("before"):
                warm(case["store"])
            if turn > 0:
                case["times"][side].append(seconds)


# ---------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(cases: list[dict], facts: dict, plans: list[str], args) -> str:
    out: list[str] = []
    add = out.append
    gate = facts["gate"]
    add(f"Date: {facts['date']}. Machine: {os.cpu_count()} CPUs ({run_bench.cpu_model()}), "
        f"Linux {platform.release()}, Python {platform.python_version()} with SQLite "
        f"{sqlite3.sqlite_version}. factotum {run_bench.factotum_revision()} "
        f"(`cargo build --release`).")
    load = (f"Load: 1-minute load average {facts['load before']} at the start, "
            f"{facts['load after']} at the end; ")
    if gate.threshold < 1:
        add(f"{load}each turn waited (up to {gate.patience:.0f} s) until other processes used "
            f"less than {gate.threshold:.0%} of the CPUs' time; {gate.busy_starts} of "
            f"{gate.repetitions} turns had to start on a busier machine.")
    else:
        add(f"{load}no waiting for a quiet machine (`--quiet 1`).")
    counts = facts["counts"]
    add(f"Store: {counts['runs']:,} runs, {counts['tasks']:,} task rows; nightly load "
        f"{counts['many']:,} runs, flaky export {counts['flaky']:,}, monthly report "
        f"{counts['few']:,}; {facts['size'] / 1e6:.1f} MB "
        f"({facts['size'] / counts['runs']:.0f} bytes a run with its {TASKS_PER_RUN} tasks). "
        f"Built in {facts['build seconds']:.1f} s.")
    add("")
    add(f"Wall time in ms of {args.repeat} turns, median and best; goal: under {GOAL_MS} ms "
        f"with {counts['runs']:,} runs. Above floor = factotum's median less that of "
        f"`factotum --version`. Reference = Python's sqlite3 opening the store and running the "
        f"same query, in process (no process start).")
    add("")
    add("| command | median | best | above floor | reference median | reference best "
        f"| under {GOAL_MS} ms |")
    add("|---|---:|---:|---:|---:|---:|:---:|")
    floor = statistics.median(cases[0]["times"]["command"])
    for case in cases:
        times = case["times"]
        median = statistics.median(times["command"])
        cells = [f"`{case['label']}`", ms(median), ms(min(times["command"]))]
        if case is cases[0]:
            cells += ["—", "—", "—", "(floor)"]
        else:
            reference = times["reference"]
            cells += [ms(median - floor), ms(statistics.median(reference)), ms(min(reference)),
                      run_bench.verdict(median * 1000, GOAL_MS)]
        add("| " + " | ".join(cells) + " |")
    add("")
    add("Query plans (SQLite of Python; factotum bundles its own SQLite through "
        "libsqlite3-sys, whose plans may differ):")
    add("")
    out.extend(plans)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000,
                        help="runs in the store (default 100,000)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="measured turns (default 20)")
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    parser.add_argument("--quiet", type=float, default=0.12, metavar="SHARE",
                        help="before each turn wait until the CPUs are busy less than SHARE "
                        "of the time (default 0.12; 1 to never wait)")
    parser.add_argument("--patience", type=float, default=60, metavar="SECONDS",
                        help="longest wait for a quiet machine before a turn (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    if not FACTOTUM.exists():
        sys.exit(f"{FACTOTUM} is missing: run `cargo build --release`")

    scratch = Path(tempfile.mkdtemp(prefix="factotum-history-bench-"))
    try:
        # Nothing goes to the user's own store, even by mistake.
        env = {name: value for name, value in os.environ.items() if name != "FACTOTUM_STORE"}
        env["XDG_STATE_HOME"] = str(scratch / "state")
        store = scratch / "store.db"
        began = time.perf_counter()
        files = record_real_runs(scratch, store, env)
        multiply(store, args.runs, files)
        facts = {
            "date": datetime.date.today().isoformat(),
            "build seconds": time.perf_counter() - began,
            "counts": store_counts(store, files),
            "size": sum(path.stat().st_size for path in scratch.glob("store.db*")),
        }
        print(f"store built: {facts['counts']}, {facts['size']:,} bytes", file=sys.stderr)
        check_outputs(store, files, env)
        print("checked: history and show print what the store holds", file=sys.stderr)

        many, few = (str(files[key].resolve()) for key in ("many", "few"))
        cases = [
            {"label": "factotum --version",
             "command": run_quietly([str(FACTOTUM), "--version"], env)},
            {"label": "factotum history",
             "command": run_quietly(factotum(store, "history"), env),
             "reference": lambda: reference_query(store, NEWEST, [None, 20]),
             "plans": [(NEWEST, [None, 20])]},
            {"label": "factotum history, store not in the page cache",
             "command": run_quietly(factotum(store, "history"), env),
             "reference": lambda: reference_query(store, NEWEST, [None, 20]),
             "before": lambda: evict(store), "store": store},
            {"label": "factotum history JOB (many runs)",
             "command": run_quietly(factotum(store, "history", many), env),
             "reference": lambda: reference_query(store, NEWEST_OF_FILE, [many, 20]),
             "plans": [(NEWEST_OF_FILE, [many, 20])]},
            {"label": "factotum history JOB (few runs)",
             "command": run_quietly(factotum(store, "history", few), env),
             "reference": lambda: reference_query(store, NEWEST_OF_FILE, [few, 20]),
             "plans": [(NEWEST_OF_FILE, [few, 20])]},
            {"label": "factotum history JOB (few runs), store not in the page cache",
             "command": run_quietly(factotum(store, "history", few), env),
             "reference": lambda: reference_query(store, NEWEST_OF_FILE, [few, 20]),
             "before": lambda: evict(store), "store": store},
            {"label": "factotum history --format json --limit 100",
             "command": run_quietly(
                 factotum(store, "history", "--format", "json", "--limit", "100"), env),
             "reference": lambda: reference_query(store, NEWEST, [None, 100]),
             "plans": []},
            {"label": "factotum show last",
             "command": run_quietly(factotum(store, "show", "last"), env),
             "reference": lambda: show_last_query(store),
             "plans": [(ONE_RUN, ["x"]), (TASKS_OF_RUN, ["x"])]},
            {"label": "factotum show last, store not in the page cache",
             "command": run_quietly(factotum(store, "show", "last"), env),
             "reference": lambda: show_last_query(store),
             "before": lambda: evict(store), "store": store},
        ]
        plans = query_plans(store, cases)
        gate = run_bench.QuietGate(args.quiet, args.patience)
        facts["load before"] = run_bench.load_average()
        measure(cases, args.repeat, gate)
        facts["load after"] = run_bench.load_average()
        facts["gate"] = gate
        if any((scratch / "state").rglob("*")):
            sys.exit("a command wrote to the default store")
        print(report(cases, facts, plans, args))
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
