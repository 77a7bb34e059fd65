#!/usr/bin/env bash
# Clones this repository's HEAD into an empty temporary directory, with nothing beside it, and runs
# `make test` there: proof that the tests read nothing outside the clone. FRESH_CLONE_TARGET picks
# other make arguments (e.g. "test-fast", or "-n test" to see what it would run); KEEP=1 keeps the clone.
# HALLMARK_JUNIT_SCHEMAS is dropped on purpose: a fresh clone has no public schemas beside it.
set -euo pipefail
source_repository="$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)"
read -ra make_arguments <<< "${FRESH_CLONE_TARGET:-test}"
parent="$(mktemp -d "${TMPDIR:-/tmp}/hallmark-fresh-clone.XXXXXX")"
cleanup() { if [ "${KEEP:-0}" != 1 ]; then rm -rf "$parent"; else echo "kept: $parent/hallmark" >&2; fi; }
trap cleanup EXIT

git clone --quiet --no-hardlinks "$source_repository" "$parent/hallmark"
cd "$parent/hallmark"
echo "fresh clone of $(git rev-parse --short HEAD) in $PWD; nothing beside it: $(ls -A "$parent")" >&2
# Only what a new user's shell would have: no test home, key or schema directory of this machine.
env -u HALLMARK_HOME -u HALLMARK_SIGNING_KEY -u HALLMARK_JUNIT_SCHEMAS make "${make_arguments[@]}"
