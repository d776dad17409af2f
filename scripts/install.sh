#!/usr/bin/env bash
# Install the project into ./.venv on a fresh machine.
#   bash scripts/install.sh            # runtime + test dependencies
#   RAG_SKIP_BROWSER=1 bash scripts/install.sh   # skip Debian's chromium
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install --quiet --upgrade pip

# PyTorch first, pinned: this version is a local CPU wheel; any other spec pulls CUDA packages.
$PIP install --quiet "torch==2.13.0"
# Everything else (torch already satisfied, so nothing re-resolves it).
$PIP install --quiet -e ".[test,milvus]"

# Debian's chromium drives the browser tests (Playwright's own browser download cannot work here).
if [ -z "${RAG_SKIP_BROWSER:-}" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "installed into .venv"
