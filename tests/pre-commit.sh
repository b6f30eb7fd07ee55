#!/usr/bin/env bash
# Tries the hooks of .pre-commit-hooks.yaml for real, as a team would use them: `pre-commit
# try-repo` installs factotum from this repository (the binary `cargo test` builds, see below)
# and runs `factotum-check` on a good and a bad factfile, `factotum-fmt` on a DSL file out of
# canonical form (which it must name), and both on a DSL file with a syntax error (reported
# once), in another git repository. Needs git, cargo and pre-commit on the PATH.
#
# try-repo only sees what git has: committed files, staged files and changes to tracked files. A
# new, unstaged .pre-commit-hooks.yaml would be missed, so the working tree (tracked and untracked
# files, not ignored ones) is first copied into a throw-away repository and committed there: the
# hook tested is always the one on disk.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# pre-commit installs a `language: rust` hook with `cargo install --bins --root DIR --path .`
# in its own clone: a release build of every dependency that nothing else reuses (the tests use
# the dev profile), the slowest step of CI. Instead, that one cargo command copies in the binary
# `cargo test` builds from this same working tree; the manifest, pre-commit's install and run of
# the hooks and what the hooks do are still tried for real. Every other cargo command is cargo's.
real_cargo="$(command -v cargo)"
# A no-op right after `cargo test`; run alone, this brings the binary up to date.
(cd "$repo" && "$real_cargo" test --locked --no-run --quiet)
binary="${CARGO_TARGET_DIR:-$repo/target}/debug/factotum"
[ -x "$binary" ] || { echo "pre-commit test: no $binary after cargo test --no-run" >&2; exit 1; }
mkdir "$work/bin"
cat >"$work/bin/cargo" <<EOF
#!/usr/bin/env bash
# cargo for pre-commit: \`install ... --root DIR ...\` copies the tested binary into DIR/bin.
if [ "\${1-}" != install ]; then exec $(printf %q "$real_cargo") "\$@"; fi
root=
while [ "\$#" -gt 0 ]; do
    if [ "\$1" = --root ] && [ "\$#" -gt 1 ]; then root="\$2"; shift; fi
    shift
done
[ -n "\$root" ] || { echo "cargo install without --root: not what pre-commit runs" >&2; exit 1; }
mkdir -p "\$root/bin" && cp $(printf %q "$binary") "\$root/bin/factotum"
EOF
chmod +x "$work/bin/cargo"
export PATH="$work/bin:$PATH"
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

# Runs every hook of the repository on the given files; sets `output` and `status`.
try_hooks() {
    status=0
    output="$(pre-commit try-repo "$snapshot" --color never --files "$@" 2>&1)" || status=$?
}

# A job with a comment, written out of canonical form: an explicit default, odd indentation.
cat >messy.factotum <<'EOF'
job "tidy me"
task "a" {
run "echo" with "a"
      continue on 0 }
task "b" { after "a"   # waits for a
  run "echo"   with "b" }
EOF
cat >"$work/tidy.factotum" <<'EOF'
job "tidy me"

task "a" { run "echo" with "a" }

task "b" {
    after "a"  # waits for a
    run "echo" with "b"
}
EOF
# A task name without its quotes: a syntax error.
cat >broken.factotum <<'EOF'
job "broken"
task a { run "true" }
EOF
# pre-commit sees a hook's rewrite as a change to a file git tracks, as in a real commit.
git_quiet add good.factfile bad.factfile messy.factotum broken.factotum

try_hooks good.factfile bad.factfile messy.factotum
[ "$status" -eq 1 ] || fail "a bad factfile and a messy DSL file must fail (exit $status)" "$output"
grep -q '^factotum check\.*Failed$' <<<"$output" || fail "the check hook is not reported failed" "$output"
expected='bad.factfile:29:21: error[E401]: task `load` depends on unknown task `extract order`'
grep -qxF "$expected" <<<"$output" || fail "the diagnostic is not shown" "$output"
if grep -q '^good\.factfile:' <<<"$output"; then fail "the good factfile got a problem" "$output"; fi
grep -q '^factotum fmt\.*Failed$' <<<"$output" || fail "the fmt hook is not reported failed" "$output"
grep -q 'files were modified by this hook' <<<"$output" || fail "no file was rewritten" "$output"
grep -qx 'messy\.factotum' <<<"$output" || fail "the fmt hook does not name the file it rewrote" "$output"
cmp -s messy.factotum "$work/tidy.factotum" ||
    fail "fmt did not write the canonical form" "$(cat messy.factotum)"
printf '%s\n' "$output"

try_hooks good.factfile messy.factotum
[ "$status" -eq 0 ] || fail "good and canonical files must pass (exit $status)" "$output"
grep -q '^factotum check\.*Passed$' <<<"$output" || fail "the check hook is not reported passed" "$output"
grep -q '^factotum fmt\.*Passed$' <<<"$output" || fail "the fmt hook is not reported passed" "$output"

try_hooks good.factfile broken.factotum
[ "$status" -eq 1 ] || fail "a DSL file with a syntax error must fail (exit $status)" "$output"
grep -q '^factotum check\.*Failed$' <<<"$output" || fail "the check hook is not reported failed" "$output"
grep -q '^factotum fmt\.*Passed$' <<<"$output" ||
    fail "the fmt hook must leave the syntax error to the check hook" "$output"
reported="$(grep -c 'error\[E[0-9]*\]' <<<"$output" || true)"
[ "$reported" -eq 1 ] || fail "the syntax error is reported $reported times, not once" "$output"
grep -q '^broken\.factotum:2:6: error\[E' <<<"$output" || fail "the syntax error is not shown" "$output"
printf '%s\n' "$output"

echo "pre-commit: factotum-check fails bad.factfile with its diagnostic and passes good.factfile;"
echo "factotum-fmt rewrites a DSL file out of canonical form and names it, then passes it;"
echo "a syntax error is reported once, by factotum-check"
