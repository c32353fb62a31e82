"""Argument checks shared by the environments: bad values raise ``ValueError``."""

from __future__ import annotations

import numbers
from collections.abc import Collection

import numpy as np


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an integer >= ``minimum``.

    Args:
        name: the argument's name, used in the error message.
        value: the value passed by the caller.
        minimum: the smallest valid value.

    Returns:
        ``value`` as a Python ``int``.

    Raises:
        ValueError: if ``value`` is not an integer (booleans and floats are
            refused, not rounded) or is smaller than ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_probability(name: str, value: object) -> float:
    """Return ``value`` if it is a real number in [0, 1].

    Raises:
        ValueError: if ``value`` is not a real number in [0, 1].
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_choice(name: str, value: object, valid: Collection[str]) -> str:
    """Return ``value`` if it is one of ``valid``.

    Raises:
        ValueError: naming the valid values, if ``value`` is not one of them.
    """
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid values: {sorted(valid)}")
    return str(value)


def check_render_mode(env_name: str, render_mode: object, valid: Collection[str]) -> str | None:
    """Return ``render_mode`` if it is None or one of ``valid`` (the env's ``metadata["render_modes"]``).

    Raises:
        ValueError: naming the valid render modes, if ``render_mode`` is not one of them.
    """
    if render_mode is not None and render_mode not in valid:
        raise ValueError(
            f"{env_name} render_mode must be None or one of {list(valid)}, got {render_mode!r}"
        )
    return render_mode  # type: ignore[return-value]


def check_real(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number.

    Raises:
        ValueError: if ``value`` is not a finite real number (booleans are refused).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def check_positive(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number > 0.

    Raises:
        ValueError: if ``value`` is not a finite real number > 0.
    """
    if check_real(name, value) <= 0.0:
        raise ValueError(f"{name} must be a real number > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]
