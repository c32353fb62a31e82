"""The generic machinery of configs: command-line options made from a model, one-line errors."""

from __future__ import annotations

import argparse
from typing import Literal

import pytest
from pydantic import Field

from brc_rl.experiments.schema import (
    ConfigError,
    ConfigModel,
    add_model_arguments,
    model_from_args,
    validate_model,
)


class Toy(ConfigModel):
    """A model with every kind of field the command line handles."""

    name: str
    """Required: a required option."""
    mode: Literal["fast", "slow"] = "fast"
    """A Literal: choices."""
    sizes: list[int] = Field(default_factory=lambda: [1, 2])
    """A list: one or more values."""
    verbose: bool = False
    """A bool: --verbose / --no-verbose."""
    ratio: float | None = Field(None, gt=0)
    """Optional, above 0."""


def parse(argv: list[str]) -> Toy:
    parser = argparse.ArgumentParser()
    add_model_arguments(parser, Toy)
    return model_from_args(Toy, parser.parse_args(argv))


def test_options_follow_the_annotations():
    assert parse(["--name", "x"]) == Toy(name="x")
    toy = parse(["--name", "x", "--mode", "slow", "--sizes", "3", "--verbose", "--ratio", "0.5"])
    assert toy == Toy(name="x", mode="slow", sizes=[3], verbose=True, ratio=0.5)
    assert parse(["--name", "x", "--no-verbose"]).verbose is False
    for argv in (["--mode", "x"], ["--name", "x", "--mode", "medium"], ["--name", "x", "--sizes", "a"]):
        with pytest.raises(SystemExit):
            parse(argv)
    with pytest.raises(ConfigError, match="^--ratio: expected a number > 0.0, got -1.0$"):
        parse(["--name", "x", "--ratio", "-1"])


def test_errors_of_nested_locations_are_one_line():
    with pytest.raises(ConfigError, match=r"^config key 'sizes': expected list\[int\], got list \[1, 'a'\]$"):
        validate_model(Toy, {"name": "x", "sizes": [1, "a"]})
    with pytest.raises(ConfigError, match="^config key 'mode': expected 'fast' or 'slow', got str 'x'$"):
        validate_model(Toy, {"name": "x", "mode": "x"})
    with pytest.raises(ConfigError, match="^the config: expected a mapping, got list"):
        validate_model(Toy, [1])
