"""The ``brc-rl`` command line: fast help and fast refusals (no torch imported), one error exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--help"], None),
        (["train", "missing.yaml"], "brc-rl train: error: config file 'missing.yaml' does not exist"),
        (["train", "configs/quickstart.yaml", "--set", "seed=x"], "brc-rl train: error: config key 'seed'"),
        (["supervised", "copy-first", "--cell", "nbrc", "--epochs", "0"], "brc-rl supervised: error: --epochs"),
        (["supervised", "copy-first", "--cell", "gru", "--warmup-steps", "-1"],
         "brc-rl supervised: error: --warmup-steps: expected an integer >= 0, got -1"),
        (["vaa", "--help"], None),
        (["train"], "brc-rl train: error: give either a CONFIG file or --resume RUN_DIR"),
        (["train", "--resume", "r", "--run-dir", "s"], "brc-rl train: error: --run-dir cannot be used with --resume"),
        (["sweep", "--resume", "r", "--dir", "s"], "brc-rl sweep: error: --dir cannot be used with --resume"),
    ],
)
def test_help_and_refusals_import_no_torch(argv, message):
    done = run_python(
        "import sys\nfrom brc_rl.cli import main\n"
        f"try:\n    code = main({argv!r})\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('torch imported' if 'torch' in sys.modules else 'no torch', code)"
    )
    assert done.stdout.splitlines()[-1] == f"no torch {0 if message is None else 2}", done.stderr
    if message is not None:
        assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
