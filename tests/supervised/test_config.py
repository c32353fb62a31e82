"""SupervisedConfig: its errors, and ``brc-rl supervised``'s options made from its fields."""

from __future__ import annotations

import argparse

import pytest

from brc_rl.experiments.schema import (
    ConfigError,
    model_from_args,
    schema_docs,
    validate_model,
)
from brc_rl.experiments.warmup import WarmupConfig
from brc_rl.supervised.cli import add_supervised_arguments
from brc_rl.supervised.protocol import BENCHMARKS, RESUME_KEYS, SupervisedConfig

BASE = {"benchmark": "copy-first", "cell": "nbrc"}
CLI_ONLY = {"json", "resume", "fresh", "no_progress"}


def error_of(**changes) -> str:
    with pytest.raises(ConfigError) as info:
        validate_model(SupervisedConfig, {**BASE, **changes})
    assert "\n" not in str(info.value)  # one line
    return str(info.value)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"epoch": 3}, "unknown config key 'epoch' (did you mean 'epochs'?); valid keys here: benchmark, cell, seq_len"),
    ({"benchmark": "copy-last"}, "'copy-last'; valid: copy-first, denoising, plmnist, psmnist, pvlmnist"),
    ({"forget": 5}, "benchmark 'copy-first' takes no forget; it takes ['seq_len']"),
    ({"benchmark": "psmnist", "black_lines": 3}, "benchmark 'psmnist' takes no black_lines; it takes none"),
    ({"epochs": "8"}, "'epochs': expected int, got str '8'"),
    ({"hidden_size": 1.5}, "'hidden_size': expected int, got float 1.5"),
    ({"epochs": True}, "'epochs': expected int, got bool True"),
    ({"lr": "fast"}, "'lr': expected float, got str 'fast'"),
    ({"seeds": [0, "1"]}, "'seeds': expected tuple[int, ...], got list [0, '1']"),
    ({"epochs": 0}, "'epochs': expected an integer >= 1, got 0"),
    ({"batch_size": 0}, "'batch_size': expected an integer >= 1, got 0"),
    ({"eval_every": -1}, "'eval_every': expected an integer >= 1, got -1"),
    ({"seeds": []}, "'seeds': expected at least 1 item(s), got []"),
])
def test_errors_name_the_key_the_expected_and_the_given(changes, expected):
    assert expected in error_of(**changes)


def test_defaults_are_the_papers_protocol_and_lists_become_tuples():
    config = validate_model(SupervisedConfig, {**BASE, "seeds": [3, 4], "lr": 1})
    assert config.seeds == (3, 4) and config.lr == 1.0 and isinstance(config.lr, float)
    assert config.reduced() == ["lr=1.0 (paper 0.001)", "2 seed(s) (paper 3)"]
    assert validate_model(SupervisedConfig, BASE).protocol()["seeds"] == [0, 1, 2]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="brc-rl supervised")
    add_supervised_arguments(p)
    return p


def test_the_options_are_the_fields_of_the_model_and_the_commands_own():
    actions = [a for a in parser()._actions if a.dest != "help"]
    warmup = set(WarmupConfig.model_fields)
    assert {a.dest for a in actions} == set(SupervisedConfig.model_fields) | CLI_ONLY | {f"warmup.{k}" for k in warmup}
    flags = {flag for a in actions for flag in a.option_strings}
    assert flags == {"--" + name.replace("_", "-") for name in set(SupervisedConfig.model_fields) - {"benchmark"}
                     } | {"--json", "--resume", "--fresh", "--no-progress", "--no-warmup-partial"} | {
                         "--warmup-" + key.replace("_", "-") for key in warmup}
    benchmark = next(a for a in actions if a.dest == "benchmark")
    assert not benchmark.option_strings and benchmark.choices == sorted(BENCHMARKS)
    text = parser().format_help()
    for needle in ("--black-lines", "plmnist: black lines N (default 72)", "--seeds SEEDS [SEEDS ...]",
                   "(default: 0 1 2)", "(default: 50)", "(default: runs/supervised)", "one of: copy-first"):
        assert needle in " ".join(text.split()), needle


def test_parsed_options_build_the_config_with_the_models_defaults():
    args = parser().parse_args(["plmnist", "--cell", "gru", "--black-lines", "0", "--seeds", "3", "4",
                                "--lr", "3e-4", "--fresh"])
    config = model_from_args(SupervisedConfig, args)
    assert config == SupervisedConfig(benchmark="plmnist", cell="gru", black_lines=0, seeds=(3, 4), lr=3e-4)
    assert args.fresh and not args.resume
    minimal = model_from_args(SupervisedConfig, parser().parse_args(["denoising", "--cell", "nbrc"]))
    assert minimal == SupervisedConfig(benchmark="denoising", cell="nbrc")


def test_warmup_options_build_the_section():
    def config(*argv):
        return model_from_args(SupervisedConfig, parser().parse_args(["copy-first", "--cell", "gru", *argv]))

    assert config().warmup is None
    assert config("--warmup").warmup == WarmupConfig()
    assert config("--warmup-steps", "5", "--warmup-partial").warmup == WarmupConfig(steps=5, partial=True)
    assert config("--warmup").run_name() == "copy-first-seq_len300-gru-warmup"
    assert config("--warmup-partial").run_name() == "copy-first-seq_len300-gru-partialwarmup"
    assert "warmup" in RESUME_KEYS


def test_bad_option_values_name_the_option():
    for argv, message in [(["--epochs", "0"], "--epochs: expected an integer >= 1, got 0"),
                          (["--warmup-steps", "-1"], "--warmup-steps: expected an integer >= 0, got -1"),
                          (["--warmup-target", "2"], "--warmup-target: expected a number <= 1.0, got 2.0"),
                          (["--forget", "3"], "benchmark 'copy-first' takes no forget")]:
        with pytest.raises(ConfigError, match=message):
            model_from_args(SupervisedConfig, parser().parse_args(["copy-first", "--cell", "nbrc", *argv]))
    with pytest.raises(SystemExit):  # argparse: the benchmark is one of its choices
        parser().parse_args(["copy-last", "--cell", "nbrc"])


def test_every_key_is_documented():
    rows = schema_docs(SupervisedConfig)
    assert [key for key, *_ in rows] == list(SupervisedConfig.model_fields) + [
        f"warmup.{key}" for key in WarmupConfig.model_fields]
    assert all(doc for *_, doc in rows), [key for key, *_, doc in rows if not doc]
    by_key = {key: (tp, default) for key, tp, default, _ in rows}
    assert by_key["seeds"] == ("tuple[int, ...]", "[0, 1, 2]") and by_key["cell"] == ("str", "required")
    assert by_key["seq_len"] == ("int | None", "null") and by_key["lr"] == ("float", "0.001")
