"""The malloc tuning applied at import (tapegrad/_malloc.py) and its opt-out."""

import os
import subprocess
import sys

PROBE = "import tapegrad, tapegrad._malloc as m; print(m.tune())"


def run(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("TAPEGRAD_MALLOC_TUNING", None)
    if env_value is not None:
        env["TAPEGRAD_MALLOC_TUNING"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_tuning_applies_on_glibc_linux_and_can_be_switched_off():
    expected = "True" if sys.platform.startswith("linux") else "False"
    assert run(None) == expected
    assert run("0") == "False"
