#!/usr/bin/env bash
# Set up .venv (test + docs extras, torch==2.13.0, Graphviz) and run the checks:
# ruff, then pytest (which also builds the docs site strictly: tests/test_docs.py).
# Extra arguments go to pytest: bash scripts/test.sh -k matmul
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup_env.sh test

status=0

echo "==> ruff check ." >&2
if ! .venv/bin/ruff check .; then
    echo "FAILED: ruff check reported problems (see above)" >&2
    status=1
fi

# The docs site is built by pytest itself: tests/test_docs.py runs
# `mkdocs build --strict` (the `test` mode installs the `docs` extra) and checks the pages.

# The CUDA tests run the kernels in numba's CUDA simulator on the CPU (no GPU needed).
# On a machine with a GPU, NUMBA_ENABLE_CUDASIM=0 runs them on the GPU instead.
export NUMBA_ENABLE_CUDASIM="${NUMBA_ENABLE_CUDASIM:-1}"

echo "==> pytest $*" >&2
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "FAILED: pytest collected no tests (exit code 5); a run with no tests is a failure" >&2
    status=1
elif [ "$rc" -ne 0 ]; then
    echo "FAILED: pytest exited with code $rc" >&2
    status=1
fi

exit "$status"
