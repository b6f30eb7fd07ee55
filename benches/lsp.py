#!/usr/bin/env python3
"""How long `factotum lsp` takes to answer a change of a 1,000-task document, against `factotum
check` on the same file.

Python 3.11 standard library only. From the repository root:

    cargo build --release
    python3 benches/lsp.py

The job (1,000 tasks, each waiting for one to three earlier ones, as in `benches/check.rs`) is
written as a factfile and, through `factotum convert`, in the DSL, under `benches/data/`. For
each syntax the script opens the document in one server, then sends changes of the whole text
(full synchronisation, as editors do for this server) that in turn misspell the last task's
first dependency and put it right, and times each from the write of `didChange` to the read of
the `publishDiagnostics` it causes, the diagnostics checked (one E401, then none). After each
change it also times a hover on the last task's first dependency and a completion inside it.

The reference, in the same run: `factotum check FILE` on the same text, a whole process (median
of the same number of runs), and Python's `json.loads` of the factfile's text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benches" / "data"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BINARY = TARGET / "release" / "factotum"
TASKS = 1000
SCHEMA = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0"


def factfile(tasks: int) -> str:
    """A job of `tasks` tasks, each waiting for one to three earlier ones, mostly recent."""
    rng = random.Random(0xFAC7)
    entries = []
    for index in range(tasks):
        wanted = min(1 + rng.randrange(3), index)
        depends: set[int] = set()
        while len(depends) < wanted:
            depends.add(rng.randrange(index) if rng.randrange(4) == 0 else index - 1 - rng.randrange(min(index, 64)))
        entries.append({
            "name": f"task-{index:06}",
            "executor": "shell",
            "command": "echo",
            "arguments": [f"--batch={rng.randrange(1000)}", f"task-{index:06} finished"],
            "dependsOn": [f"task-{d:06}" for d in sorted(depends)],
            "onResult": {"terminateJobWithSuccess": [3] if rng.randrange(2) else [], "continueJob": [0]},
        })
    job = {"schema": SCHEMA, "data": {"name": f"benchmark job of {tasks} tasks", "tasks": entries}}
    return json.dumps(job, indent=4) + "\n"


class Server:
    """One `factotum lsp` process on pipes."""

    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen([binary, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0
        self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})

    def send(self, message: dict) -> None:
        self.send_body(json.dumps(message).encode())

    def send_body(self, body: bytes) -> None:
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict:
        length = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit("the server closed its output")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.process.stdout.read(length))

    def notify(self, method: str, params: dict) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: dict | None) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == self.next_id:
                return message

    def diagnostics(self) -> list:
        while True:
            message = self.receive()
            if message.get("method") == "textDocument/publishDiagnostics":
                return message["params"]["diagnostics"]

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.stdin.close()
        if self.process.wait(timeout=60) != 0:
            raise SystemExit("the server did not exit with 0")


def milliseconds(start: int) -> float:
    return (time.perf_counter_ns() - start) / 1e6


def position_of(text: str, offset: int) -> dict:
    """An LSP position (UTF-16 columns; the generated text is ASCII)."""
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def measure_server(binary: Path, path: Path, language: str, changes: int) -> dict[str, list[float]]:
    text = path.read_text()
    # The last task's first dependency: a name in quotes after the last `after` / `dependsOn`.
    key = '"dependsOn": [' if language == "json" else "after "
    first = text.rindex(key) + len(key)
    first = text.index('"', first)
    name_end = text.index('"', first + 1)
    misspelt = text[:name_end - 1] + "x" + text[name_end:]
    uri = path.resolve().as_uri()
    server = Server(binary)
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}})
    if server.diagnostics():
        raise SystemExit(f"{path}: the generated job has problems")
    times: dict[str, list[float]] = {"change": [], "hover": [], "completion": []}
    inside = position_of(text, first + 2)
    # The texts are encoded before the clock starts: what is timed is the server's work and the
    # pipes, not this script's JSON encoder.
    encoded = {broken: json.dumps(misspelt if broken else text) for broken in (True, False)}
    for version in range(2, changes + 2):
        broken = version % 2 == 0
        body = (
            '{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": '
            f'{{"uri": {json.dumps(uri)}, "version": {version}}}, "contentChanges": [{{"text": {encoded[broken]}}}]}}}}'
        ).encode()
        start = time.perf_counter_ns()
        server.send_body(body)
        diagnostics = server.diagnostics()
        times["change"].append(milliseconds(start))
        codes = [d["code"] for d in diagnostics]
        if codes != (["E401"] if broken else []):
            raise SystemExit(f"{path}: unexpected diagnostics {codes}")
        for method in ("hover", "completion"):
            start = time.perf_counter_ns()
            answer = server.request(f"textDocument/{method}", {"textDocument": {"uri": uri}, "position": inside})
            times[method].append(milliseconds(start))
            # A misspelt dependency names no task: nothing to show on hover then.
            if answer.get("result") is None and not (broken and method == "hover"):
                raise SystemExit(f"{path}: no {method}")
    server.close()
    return times


def check_times(binary: Path, path: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        subprocess.run([binary, "check", path], stdout=subprocess.DEVNULL, check=True)
        times.append(milliseconds(start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100, help="changes per document (default 100)")
    parser.add_argument("--binary", type=Path, default=BINARY, help="the factotum binary to measure")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    factfile_path = DATA / f"lsp-{TASKS}.factfile"
    factfile_path.write_text(factfile(TASKS))
    dsl_path = DATA / f"lsp-{TASKS}.factotum"
    subprocess.run([args.binary, "convert", factfile_path, "--to", "dsl", "-o", dsl_path, "--overwrite"], check=True)
    text = factfile_path.read_text()
    loads = []
    for _ in range(args.changes):
        start = time.perf_counter_ns()
        json.loads(text)
        loads.append(milliseconds(start))
    print(f"`json.loads` of the factfile: median {statistics.median(loads):.2f} ms")
    print()
    print("| document | KB | change → diagnostics median ms | p95 | max | hover median | completion median | `factotum check` median ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path, language in ((factfile_path, "json"), (dsl_path, "factotum")):
        times = measure_server(args.binary, path, language, args.changes)
        check = check_times(args.binary, path, args.changes)
        change = sorted(times["change"])
        p95 = change[int(len(change) * 0.95) - 1]
        print(
            f"| {path.name} | {path.stat().st_size / 1000:.0f} | {statistics.median(change):.2f} | {p95:.2f} | {change[-1]:.2f} "
            f"| {statistics.median(times['hover']):.2f} | {statistics.median(times['completion']):.2f} | {statistics.median(check):.2f} |"
        )


if __name__ == "__main__":
    main()
