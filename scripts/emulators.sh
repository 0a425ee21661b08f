#!/usr/bin/env bash
# Start/stop/inspect the local emulators without the `sportsflow` entry point:
#   scripts/emulators.sh up [--only pubsub,firestore]   |   down   |   status   |   setup
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${repo}/.venv/bin/python"
if [[ ! -x "${python}" ]]; then  # no project venv: run from the checkout
  python="python3"
  export PYTHONPATH="${repo}${PYTHONPATH:+:${PYTHONPATH}}"
fi
exec "${python}" -m shared.cli.emulators "$@"
