#!/usr/bin/env bash
# The test command: unit tests on the embedded backend plus integration tests against the
# Google emulators, which this script starts (on free ports) and stops again.
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not emulator"` for unit tests only.
set -euo pipefail
cd "$(dirname "$0")/.."

export SPORTSFLOW_HOME="${SPORTSFLOW_HOME:-$(mktemp -d -t sportsflow-test.XXXXXX)}"
export SPORTSFLOW_REQUIRE_EMULATORS="${SPORTSFLOW_REQUIRE_EMULATORS:-1}"

# Set before starting: a start that fails half-way still stops what it started.
trap 'sportsflow emulators down' EXIT
sportsflow emulators up
python -m pytest "$@"
