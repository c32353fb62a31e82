"""Metrics against hand-computed values, the paper's numbers, the tables and the CLI."""

import json

import pytest
import torch
import yaml

from brc_rl.cli import main
from brc_rl.supervised.metrics import accuracy, confusion_matrix, macro_f1
from brc_rl.supervised.paper import PAPER_COLUMNS, PAPER_TABLES
from brc_rl.supervised.protocol import BENCHMARKS
from brc_rl.supervised.table import load_results, render_tables

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_accuracy_and_macro_f1_by_hand():
    pred = torch.tensor([0, 0, 1, 1, 2])
    target = torch.tensor([0, 1, 1, 1, 2])
    assert accuracy(pred, target) == pytest.approx(0.8)
    # class 0: TP 1, FP 1, FN 0 -> 2/3; class 1: TP 2, FN 1 -> 4/5; class 2: 1
    expected = (2 / 3 + 4 / 5 + 1) / 3
    assert macro_f1(pred, target, 3) == pytest.approx(expected)
    # a class absent from both predictions and targets does not count
    assert macro_f1(pred, target, 10) == pytest.approx(expected)
    # a class predicted but never true counts with F1 = 0
    assert macro_f1(torch.tensor([0, 3]), torch.tensor([0, 0]), 4) == pytest.approx((2 / 3 + 0) / 2)
    assert confusion_matrix(pred, target, 3).tolist() == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="same shape"):
        accuracy(pred, target[:3])


def test_paper_numbers_are_stored():
    assert PAPER_TABLES["copy-first"]["rows"][300]["mse"]["nBRC"] == (0.010, 0.003)
    assert PAPER_TABLES["denoising"]["rows"][200]["mse"]["GRU"] == (0.995, 0.003)
    assert PAPER_TABLES["psmnist"]["rows"][None]["macro_f1"]["LMU"] == (0.965, 0.002)
    assert PAPER_TABLES["plmnist"]["rows"][472]["accuracy"]["LSTM"] == (0.562, 0.328)
    assert PAPER_TABLES["pvlmnist"]["rows"][472]["macro_f1"]["BRC"] == (0.954, 0.000)
    for table in PAPER_TABLES.values():
        for row in table["rows"].values():
            for values in row.values():
                assert tuple(values) == PAPER_COLUMNS


def fake_result(benchmark, cell, params, summary, reduced=False, seeds=(0, 1, 2)):
    return {
        "format": "brc_rl.supervised.results/1", "benchmark": benchmark, "cell": cell,
        "summary": {m: {"mean": v[0], "std": v[1], "n": len(seeds)} for m, v in summary.items()},
        "protocol": {"benchmark": benchmark, "dataset_params": params,
                     "epochs": 50 if not reduced else 2,
                     "train_size": BENCHMARKS[benchmark].sizes[0],
                     "test_size": BENCHMARKS[benchmark].sizes[1], "batch_size": 100, "lr": 1e-3,
                     "num_layers": 2, "hidden_size": 128, "seeds": list(seeds),
                     "reduced": reduced or len(seeds) < 3,
                     "reduced_reasons": (["epochs=2 (paper 50)"] if reduced else [])
                     + ([f"{len(seeds)} seed(s) (paper 3)"] if len(seeds) < 3 else [])},
    }


def test_table_puts_measured_rows_next_to_the_paper():
    results = [
        fake_result("copy-first", "nbrc", {"seq_len": 300}, {"mse": (0.0123, 0.0046)}),
        fake_result("copy-first", "gru", {"seq_len": 300}, {"mse": (0.9, 0.05)}),
        fake_result("copy-first", "mycell", {"seq_len": 10}, {"mse": (0.5, 0.1)}, reduced=True),
        fake_result("denoising", "brc", {"seq_len": 100, "forget": 5}, {"mse": (0.7, 0.01)}),
        fake_result("psmnist", "nbrc", {}, {"accuracy": (0.9, 0.01), "macro_f1": (0.89, 0.02)}),
    ]
    text = render_tables(results)
    lines = text.splitlines()
    assert "### Table 1, copy first input, test MSE" in lines
    assert "| T | source | BRC | nBRC | GORU | LSTM | GRU | LMU | mycell |" in lines
    paper = lines.index("| 300 | paper | 0.086+-0.014 | 0.010+-0.003 | 0.308+-0.050 | 1.002+-0.009 "
                        "| 0.876+-0.190 | 0.000+-0.000 |  |")
    assert lines[paper + 1] == "| 300 | measured [1] |  | 0.012+-0.005 |  |  | 0.900+-0.050 |  |  |"
    assert "| 10 | measured, reduced [2] |  |  |  |  |  |  | 0.500+-0.100 |" in lines
    assert "| 5 | measured (seq_len=100) [1] | 0.700+-0.010 |  |  |  |  |  |" in lines
    assert "| accuracy | measured [3] |  | 0.900+-0.010 |  |  |  |  |" in lines
    assert "| macro_f1 | paper | 0.655+-0.007 | 0.906+-0.005 | 0.897+-0.008 | 0.907+-0.003 " \
           "| 0.902+-0.006 | 0.965+-0.002 |" in lines
    assert "1. full protocol: 50 epochs" in text and "2. REDUCED (epochs=2 (paper 50))" in text
    assert "Table 4" not in text  # only measured benchmarks


def test_table_tells_a_run_short_of_seeds_from_a_reduced_one():
    text = render_tables([
        fake_result("copy-first", "nbrc", {"seq_len": 300}, {"mse": (0.02, 0.0)}, seeds=(0,)),
        fake_result("copy-first", "brc", {"seq_len": 300}, {"mse": (0.3, 0.0)}, reduced=True,
                    seeds=(0,)),
    ])
    assert "| 300 | measured, 1 seed(s) [1] |  | 0.020 (1 seed) |" in text
    assert "| 300 | measured, reduced [2] | 0.300 (1 seed) |" in text
    assert "1. the paper's settings, 1 of its 3 seeds: 50 epochs, 40000 train" in text
    assert "2. REDUCED (epochs=2 (paper 50); 1 seed(s) (paper 3)): 2 epochs" in text


def test_table_lists_runs_with_the_papers_settings_before_reduced_ones():
    text = render_tables([
        fake_result("copy-first", "brc", {"seq_len": 300}, {"mse": (0.3, 0.0)}, reduced=True,
                    seeds=(0,)),
        fake_result("copy-first", "nbrc", {"seq_len": 300}, {"mse": (0.02, 0.0)}, seeds=(0,)),
    ]).splitlines()
    assert text.index("| 300 | measured, 1 seed(s) [1] |  | 0.020 (1 seed) |  |  |  |  |") < \
        text.index("| 300 | measured, reduced [2] | 0.300 (1 seed) |  |  |  |  |  |")


def test_table_gives_warmup_runs_their_own_column():
    warm = fake_result("copy-first", "gru", {"seq_len": 300}, {"mse": (0.05, 0.0)}, seeds=(0,))
    warm["protocol"]["warmup"] = {"steps": 100, "partial": False}
    lines = render_tables([fake_result("copy-first", "gru", {"seq_len": 300}, {"mse": (0.9, 0.0)}, seeds=(0,)),
                           warm]).splitlines()
    assert "| T | source | BRC | nBRC | GORU | LSTM | GRU | LMU | GRU + warm-up |" in lines
    assert "| 300 | measured, 1 seed(s) [2] |  |  |  |  |  |  | 0.050 (1 seed) |" in lines
    assert any("warm-up {'steps': 100, 'partial': False}" in line for line in lines)


def test_load_results_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a brc-rl supervised results file"):
        load_results([path])


def test_cli_trains_writes_json_and_renders_the_table(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["supervised", "copy-first", "--cell", "nbrc", "--seq-len", "5", "--epochs", "1",
                 "--train-size", "200", "--test-size", "100", "--seeds", "0", "1", "--logdir",
                 str(tmp_path / "runs"), "--json", str(out), "--device", "cpu", "--no-progress"])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["protocol"]["reduced"] is True
    assert results["protocol"]["train_size"] == 200 and results["protocol"]["epochs"] == 1
    assert [s["seed"] for s in results["seeds"]] == [0, 1]
    mses = [s["mse"] for s in results["seeds"]]
    assert results["summary"]["mse"]["mean"] == pytest.approx(sum(mses) / 2)
    assert results["summary"]["mse"]["std"] == pytest.approx(abs(mses[0] - mses[1]) / 2)
    run_dir = tmp_path / "runs" / "copy-first-seq_len5-nbrc-reduced"
    assert json.loads((run_dir / "results.json").read_text())["summary"] == results["summary"]
    assert (run_dir / "seed1" / "checkpoints" / "checkpoint.pt").exists()
    assert (run_dir / "seed1" / "final_model.pt").exists() and (run_dir / "seed1" / "tensorboard").is_dir()
    assert (run_dir / "command.txt").read_text().startswith("brc-rl supervised copy-first")
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["dataset_params"] == {"seq_len": 5}
    assert "copy-first nbrc (REDUCED protocol, 2 seed(s)): mse " in capsys.readouterr().out
    assert main(["supervised-table", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 5 | measured, reduced [1] |" in table and "| 5 | paper |" in table
    # same command again: resumed from the finished checkpoints, same numbers
    assert main(["supervised", "copy-first", "--cell", "nbrc", "--seq-len", "5", "--epochs", "1",
                 "--train-size", "200", "--test-size", "100", "--seeds", "0", "1", "--logdir",
                 str(tmp_path / "runs"), "--json", str(out), "--device", "cpu", "--no-progress",
                 "--resume"]) == 0
    assert json.loads(out.read_text())["summary"] == results["summary"]
    assert "resuming seed(s) [0, 1] from their checkpoints" in capsys.readouterr().err
    # a seed with no checkpoint of its own is not "resumed" from the other seeds' checkpoints
    assert main(["supervised", "copy-first", "--cell", "nbrc", "--seq-len", "5", "--epochs", "1",
                 "--train-size", "200", "--test-size", "100", "--seeds", "2", "--logdir",
                 str(tmp_path / "runs"), "--device", "cpu", "--no-progress", "--resume"]) == 2
    assert "--resume: no checkpoint of seed(s) [2]" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["copy-first", "--cell", "nbrc", "--forget", "5"], "takes no forget"),
    (["copy-first", "--cell", "rnn9"], "unknown cell 'rnn9'; expected one of"),
    (["copy-first", "--cell", "nbrc", "--resume"], "--resume: no checkpoint"),
    (["psmnist", "--cell", "nbrc", "--mnist", "."], "MNIST file train-images-idx3-ubyte (or train-"),
])
def test_cli_errors(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)  # "--mnist ." is an empty folder
    monkeypatch.setenv("BRC_RL_DATA", str(tmp_path / "data"))
    code = main(["supervised", *argv, "--logdir", str(tmp_path / "runs")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_summary_line_names_the_protocol(capsys):
    from brc_rl.supervised.cli import _print_summary

    _print_summary(fake_result("copy-first", "nbrc", {"seq_len": 300}, {"mse": (0.02, 0.0)},
                               seeds=(0,)))
    _print_summary(fake_result("copy-first", "nbrc", {"seq_len": 300}, {"mse": (0.02, 0.01)}))
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["copy-first nbrc (the paper's settings, 1 seed(s)): mse 0.0200",  # no std of one seed
                     "copy-first nbrc (full protocol, 3 seed(s)): mse 0.0200 +- 0.0100"]
