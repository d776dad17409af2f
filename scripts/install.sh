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
# pip's own notices (the build backend's note on editable installs, the package index's settings)
# are not errors: each step's output is kept in a log and shown only if the step fails.
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
pip_install() {
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "install failed: pip install $*" >&2
    exit 1
  fi
}
pip_install --upgrade pip

# PyTorch first, pinned: this version is a local CPU wheel; any other spec pulls CUDA packages.
echo "installing PyTorch (CPU) into .venv"
pip_install "torch==2.13.0"
# Everything else (torch already satisfied, so nothing re-resolves it).
echo "installing rag-extract and its dependencies"
pip_install -e ".[test,milvus]"

# Milvus's C++ server for the server tests: the milvus-lite 2.5.1 wheel ships its binary, but cannot
# share the venv with milvus-lite 3.x (same package name), so only its files are unpacked, beside it.
if [ ! -x .milvus-server/milvus_lite/lib/milvus ]; then
  echo "unpacking Milvus's server (milvus-lite 2.5.1) into .milvus-server for the server tests"
  rm -rf .milvus-server
  pip_install --no-deps --target .milvus-server "milvus-lite==2.5.1"
fi

# Debian's chromium drives the browser tests (Playwright's own browser download cannot work here).
if [ -z "${RAG_SKIP_BROWSER:-}" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian's chromium for the browser tests"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "install failed: apt-get install chromium" >&2
    exit 1
  fi
fi
echo "installed into .venv"
