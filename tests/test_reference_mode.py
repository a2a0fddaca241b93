"""TAPEGRAD_JIT=0 swaps every numba kernel for its plain-Python reference, and training
gives the same numbers either way (run in fresh processes: the switch is read at import)."""

import json
import os
import subprocess
import sys

PROGRAM = """
import json, sys
import numpy as np
import tapegrad as tg
from tapegrad import kernels
rng = np.random.default_rng(0)
x = tg.tensor(rng.standard_normal((64, 8)).astype(np.float32))
y = tg.tensor(x.numpy()[:, :3].argmax(axis=1))  # learnable labels
onehot = tg.tensor(np.eye(3, dtype=np.float32)[y.numpy()])
w1 = tg.tensor(rng.standard_normal((8, 16)).astype(np.float32) * 0.3, requires_grad=True)
w2 = tg.tensor(rng.standard_normal((16, 3)).astype(np.float32) * 0.3, requires_grad=True)
losses = []
for _ in range(40):
    h = (x @ w1).relu().sigmoid()
    loss = -(( h @ w2).log_softmax(dim=1) * onehot).sum(dim=1).mean()
    loss.backward()
    with tg.no_grad():
        for w in (w1, w2):
            w -= 1.0 * w.grad
            w.grad = None
    losses.append(loss.item())
print(json.dumps({"jit": kernels.jit_enabled(), "backend": kernels.CPU.name,
                  "losses": losses}))
"""


def run(jit: str) -> dict:
    env = {**os.environ, "TAPEGRAD_JIT": jit}
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_reference_kernels_train_identically_to_numba():
    ref, jit = run("0"), run("1")
    assert ref["jit"] is False and ref["backend"] == "reference"
    assert jit["jit"] is True and jit["backend"] == "numba"
    assert ref["losses"][-1] < 0.8 * ref["losses"][0]  # it trained
    for a, b in zip(ref["losses"], jit["losses"], strict=True):
        assert abs(a - b) <= 1e-5 * abs(b)  # float32, different summation orders
