#!/usr/bin/env bash
# Tries the `factotum-check` hook of .pre-commit-hooks.yaml for real, as a team would use it:
# `pre-commit try-repo` builds factotum from this repository and runs the hook on a good and a bad
# factfile in another git repository. Needs git, cargo and pre-commit on the PATH.
#
# try-repo only sees what git has: committed files, staged files and changes to tracked files. A
# new, unstaged .pre-commit-hooks.yaml would be missed, so the working tree (tracked and untracked
# files, not ignored ones) is first copied into a throw-away repository and committed there: the
# hook tested is always the one on disk.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# pre-commit builds the hook with `cargo install` in a fresh clone each time; a shared target
# folder lets the second build, and later CI runs, reuse the compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/pre-commit}"
git_quiet() {
    git -c init.defaultBranch=main -c user.name=factotum-ci -c user.email=ci@factotum.invalid "$@" >/dev/null
}

snapshot="$work/factotum"
mkdir "$snapshot"
git -C "$repo" ls-files -z --cached --others --exclude-standard |
    tar -cf - -C "$repo" --ignore-failed-read --null --files-from=- |
    tar -xf - -C "$snapshot"
git_quiet -C "$snapshot" init
git_quiet -C "$snapshot" add --all
git_quiet -C "$snapshot" commit -m "factotum working tree"

consumer="$work/team"
mkdir "$consumer"
git_quiet -C "$consumer" init
cp "$repo/samples/nightly-warehouse.factfile" "$consumer/good.factfile"
cp "$repo/tests/fixtures/check/E401-unknown-dependency.factfile" "$consumer/bad.factfile"
cd "$consumer"

fail() {
    printf 'pre-commit test failed: %s\n--- pre-commit output\n%s\n' "$1" "$2" >&2
    exit 1
}

# Runs the hook on the given files; sets `output` and `status`.
try_hook() {
    status=0
    output="$(pre-commit try-repo "$snapshot" factotum-check --color never --files "$@" 2>&1)" ||
        status=$?
}

try_hook good.factfile bad.factfile
[ "$status" -eq 1 ] || fail "a bad factfile must fail the hook (exit $status)" "$output"
grep -q '^factotum check\.*Failed$' <<<"$output" || fail "the hook is not reported failed" "$output"
expected='bad.factfile:29:21: error[E401]: task `load` depends on unknown task `extract order`'
grep -qxF "$expected" <<<"$output" || fail "the diagnostic is not shown" "$output"
if grep -q '^good\.factfile:' <<<"$output"; then fail "the good factfile got a problem" "$output"; fi
printf '%s\n' "$output"

try_hook good.factfile
[ "$status" -eq 0 ] || fail "a good factfile must pass the hook (exit $status)" "$output"
grep -q '^factotum check\.*Passed$' <<<"$output" || fail "the hook is not reported passed" "$output"

echo "pre-commit: factotum-check passes good.factfile and fails bad.factfile with its diagnostic"
