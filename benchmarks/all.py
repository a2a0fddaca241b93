"""Every benchmark in one run: the figures the issues ask for, each script printing ratios
to the peers it measured in the same process.

Run: .venv/bin/python benchmarks/all.py        (about 5 minutes on 2 cores)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("W1 scalar engine vs micrograd vs torch 0-d", "scalar_bench.py"),
    ("deep chain of 100,000 ops", "deep_chain_bench.py"),
    ("W2/W3 MLP training steps vs torch, numpy by hand, mygrad", "training_bench.py"),
    ("W4 LeNet-5 forward+backward vs torch", "conv_bench.py"),
    ("one-layer LSTM vs torch", "lstm_bench.py"),
    ("import time", "import_time.py"),
    ("cold start of the digits example", "cold_start.py"),
]


def main() -> int:
    failed = 0
    for title, script in SCRIPTS:
        print(f"\n===== {title} ({script})", flush=True)
        rc = subprocess.run([sys.executable, str(HERE / script)]).returncode
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
