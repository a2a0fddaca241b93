#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv.
#
#   scripts/setup_env.sh demo   runtime deps only (what `python -m tapegrad demo` needs)
#   scripts/setup_env.sh test   + the `test` extra (pytest, hypothesis, ruff, playwright,
#                               torch==2.13.0), the `docs` extra (the docs build is part
#                               of the tests), the `cuda` extra (numba-cuda: the CUDA tests
#                               run its simulator), and Debian's chromium for the browser test
#   scripts/setup_env.sh docs   + the `docs` extra (mkdocs and plugins): enough to build
#                               the site; the two pages that execute torch or numba-cuda
#                               then show a note instead of their results (docs/hooks.py)
#   scripts/setup_env.sh dev    + everything (test, docs, benchmark deps)
#
# Idempotent: safe to run again and again; it only installs what is missing.
# Also installs Graphviz's `dot` (Debian package `graphviz`) when it is not on PATH, and
# in test mode Chromium (Debian packages `chromium`, `fonts-dejavu-core`) when
# /usr/bin/chromium is missing: tests/test_docs_browser.py drives it with Playwright
# (never `playwright install`, which would download a browser of its own).
set -euo pipefail

MODE="${1:-test}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
# torch is pinned exactly: the 2.13.0 CPU build lies on the project's machines,
# any other spec downloads a multi-GB CUDA build. Keep in sync with pyproject.toml.
TORCH_PIN="torch==2.13.0"

export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

log() { printf '==> %s\n' "$*" >&2; }

# Run a command, passing its stderr on except for lines of known, harmless noise:
# pip warnings about local find-links/index folders that lack a package (some
# machines' pip config) and apt's note that apt-utils is missing. Errors still show,
# and the command's exit status is kept (pipefail).
NOISE='is ignored: it is neither a file nor a directory|debconf: delaying package configuration'
filtered() {
    { "$@" 2>&1 >&3 3>&- | { grep -E -v -e "$NOISE" >&2 || true; }; } 3>&1
}
pip_install() {
    filtered "$VENV/bin/python" -m pip install -q --progress-bar off "$@"
}

case "$MODE" in
    demo) PIP_ARGS=(-e .) ;;
    test) PIP_ARGS=(-e ".[test,docs,cuda]" "$TORCH_PIN") ;;
    docs) PIP_ARGS=(-e ".[docs]") ;;
    dev) PIP_ARGS=(-e ".[dev,test,cuda]" "$TORCH_PIN") ;;
    *)
        echo "usage: $0 demo|test|docs|dev" >&2
        exit 2
        ;;
esac

# --- system packages via apt (root, or sudo when available) -------------------------
# apt_install WHAT PACKAGE...: install Debian packages; when that is impossible (no root
# and no sudo, or no apt-get), say how to install them and return 1.
apt_install() {
    local what="$1"
    shift
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            log "WARNING: $what is missing and this user cannot install it."
            log "         Install it as root:  apt-get update && apt-get install -y $*"
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "WARNING: $what is missing and apt-get is not available (Debian packages: $*)."
        return 1
    fi
    log "installing $what (apt packages: $*)"
    filtered "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    filtered "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Graphviz's `dot` renders computation graphs.
install_dot() {
    command -v dot >/dev/null 2>&1 && return 0
    apt_install "Graphviz's 'dot'" graphviz || return 0
    command -v dot >/dev/null 2>&1 || {
        echo "error: installed graphviz but 'dot' is still not on PATH" >&2
        exit 1
    }
}

# Chromium drives the docs' browser test (test mode only).
CHROMIUM=/usr/bin/chromium
install_chromium() {
    [ -x "$CHROMIUM" ] && return 0
    apt_install "$CHROMIUM (for tests/test_docs_browser.py)" chromium fonts-dejavu-core ||
        return 0
    [ -x "$CHROMIUM" ] || {
        echo "error: installed chromium but $CHROMIUM is still missing" >&2
        exit 1
    }
}

# --- virtual environment ------------------------------------------------------
make_venv() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "error: tapegrad needs Python >= 3.11; '$PYTHON' is $("$PYTHON" -V 2>&1 || echo missing)." >&2
        echo "       Set PYTHON=/path/to/python3.11 and run again." >&2
        exit 1
    fi
    # A venv whose interpreter no longer runs (moved repo, removed Python) is rebuilt.
    if [ -d "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "existing .venv is broken; recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment in .venv"
        "$PYTHON" -m venv "$VENV"
        pip_install --upgrade pip
    fi
}

# --- pip packages ---------------------------------------------------------------
# A stamp in .venv records what the last successful install of this mode was made
# from; while pyproject.toml, this script and the package's presence are unchanged,
# there is nothing to do. TAPEGRAD_REINSTALL=1 forces the pip step.
stamp_of() {
    {
        printf '%s\n' "$MODE" "${PIP_ARGS[@]}"
        cat pyproject.toml scripts/setup_env.sh
        ls -d tapegrad/__init__.py 2>/dev/null || true
    } | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

install_dot
if [ "$MODE" = test ]; then
    install_chromium
fi
make_venv
STAMP="$VENV/.tapegrad-setup-$MODE"
want="$(stamp_of)"
if [ "${TAPEGRAD_REINSTALL:-0}" != "1" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log ".venv is up to date for '$MODE'"
else
    log "installing tapegrad ($MODE) into .venv"
    rm -f "$STAMP"
    pip_install "${PIP_ARGS[@]}"
    printf '%s\n' "$want" >"$STAMP"
fi
