"""Every benchmark in one run: the figures the issues ask for, each script printing ratios
to the peers it measured in the same process.

Run: .venv/bin/python benchmarks/all.py                 (about 5 minutes on 2 cores)
     .venv/bin/python benchmarks/all.py --device cuda   (the MLP, CNN and LSTM training
                                                         steps, tapegrad and torch on the GPU)

With ``--device cuda`` only the scripts that take ``--device`` run (the others measure the
CPU engine: the scalar engine, import time, cold start); a library with no CUDA here is
skipped with a message by each script (``_device.py``), and the run still succeeds.
"""

from __future__ import annotations

import argparse
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
#: The scripts that take ``--device`` (the training-step workloads), and their titles there.
DEVICE_SCRIPTS = {"training_bench.py": "W2/W3 MLP training steps vs torch",
                  "conv_bench.py": "W4 LeNet-5 forward+backward vs torch",
                  "lstm_bench.py": "one-layer LSTM vs torch"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: run the training-step benchmarks with both libraries on "
                             "the GPU (default cpu: every benchmark, as before)")
    args = parser.parse_args()
    failed = 0
    for title, script in SCRIPTS:
        command = [sys.executable, str(HERE / script)]
        if args.device != "cpu":
            if script not in DEVICE_SCRIPTS:
                continue
            command += ["--device", args.device]
            title = f"{DEVICE_SCRIPTS[script]}, both on {args.device}"
        print(f"\n===== {title} ({script})", flush=True)
        rc = subprocess.run(command).returncode
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
