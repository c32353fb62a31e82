"""benchmarks/minibatch_resets.py runs on a tiny shape and forces the requested paths."""

import argparse

import torch

from benchmarks import minibatch_resets as bench


def test_tiny_run_prints_every_memory(capsys):
    threads = str(torch.get_num_threads())  # keep the test process's thread count
    assert bench.main(["--length", "6", "--hidden", "4", "--repeats", "2", "--threads", threads]) == 0
    out = capsys.readouterr().out
    for name in ("nbrc", "gru-packed", "gru-scan", "lstm-segments", "lstm-scan"):
        assert f"{name}:" in out


def test_make_forces_the_path():
    args = argparse.Namespace(input=3, hidden=4)
    x = torch.zeros(2, 1, 3)
    rnn = bench.make("gru-packed", args)
    assert rnn._packs(x) and not rnn._scans(x)
    rnn = bench.make("lstm-scan", args)
    assert rnn._scans(x) and not rnn._packs(x)
