#!/usr/bin/env bash
# Set up .venv (runtime deps + Graphviz) and run the tapegrad demo.
# Extra arguments are passed on: bash scripts/demo.sh --help
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup_env.sh demo
exec .venv/bin/python -m tapegrad demo "$@"
