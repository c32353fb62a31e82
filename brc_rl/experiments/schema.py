"""Dataclass schemas read from YAML: type-checked keys, ``--set`` overrides, no ``eval``.

Generic machinery of :mod:`brc_rl.experiments.config`: :func:`from_dict` builds a (nested)
dataclass from a mapping, checking every key against the fields and every value
against the field's annotation (:func:`matches`); YAML is read with a loader that also
takes YAML 1.2 floats such as ``3e-4``. Errors are :class:`ConfigError`, naming the
dotted key, the expected and the actual value.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml


class ConfigError(ValueError):
    """An invalid training config; the message names the key and the valid choices."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as ``3e-4`` as numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_scalar(text: str) -> Any:
    """Parse one ``--set`` value as YAML (``3e-4`` -> float, ``[64, 64]`` -> list, ``x`` -> str)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"cannot parse value {text!r} as YAML: {error}") from None


#: Key of a config file naming another file (relative to it) whose keys it extends.
BASE_KEY = "base"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file into a mapping, resolving its ``base:`` chain.

    A file may name another with ``base: other.yaml`` (a path relative to the
    file's folder). The base is read first (recursively) and the file's own keys
    are deep-merged over it (:func:`deep_merge`: mappings merge key by key,
    anything else replaces); the ``base`` key itself is dropped.

    Raises:
        ConfigError: if a file is missing, is not YAML, or is not a mapping; if
            ``base`` is not a string; or if the chain of bases has a cycle.
    """
    return _read_yaml(Path(path), ())


def _read_yaml(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    if BASE_KEY not in data:
        return data
    base = data.pop(BASE_KEY)
    if not isinstance(base, str):
        raise ConfigError(f"config key {BASE_KEY!r} in {str(path)!r} must be a relative path (str), got {base!r}")
    chain = (*chain, path.resolve())
    base_path = path.parent / base
    if base_path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, base_path.resolve()))
        raise ConfigError(f"config {BASE_KEY!r} chain has a cycle: {cycle}")
    return deep_merge(_read_yaml(base_path, chain), data)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys on top: two mappings merge key by key, anything else replaces.

    Example:
        >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
        {'a': {'x': 1, 'y': 3}, 'b': [2]}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``key.sub=value`` overrides applied (values parsed as YAML).

    Raises:
        ConfigError: on an override without ``=``, or one that descends into a non-mapping.
    """
    data = copy.deepcopy(data)
    for override in overrides:
        path, sep, text = override.partition("=")
        if not sep or not path:
            raise ConfigError(f"override {override!r} must look like key.subkey=value")
        keys = path.split(".")
        node = data
        for depth, key in enumerate(keys[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"cannot set {path!r}: {'.'.join(keys[: depth + 1])!r} is not a mapping")
        node[keys[-1]] = parse_scalar(text)
    return data


def type_name(tp: Any) -> str:
    """A readable name of an annotation: ``int``, ``list[int]``, ``float | None``."""
    if tp is type(None):
        return "None"
    if get_origin(tp) in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(tp))
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__
    if get_origin(tp) in (list, dict) and get_args(tp):
        return f"{get_origin(tp).__name__}[{', '.join(type_name(arg) for arg in get_args(tp))}]"
    return str(tp).replace("typing.", "").replace("collections.abc.", "")


def matches(value: Any, tp: Any) -> bool:
    """Whether a YAML value fits an annotation (ints fit floats; bools fit neither).

    Classes and callables never come from YAML, so ``type[...]`` and ``Callable``
    reject every value; annotation forms this function does not know accept it.
    """
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if origin in (list, Sequence, tuple):
        return isinstance(value, list) and all(matches(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin in (dict, Mapping):
        key_tp, value_tp = args or (Any, Any)
        return isinstance(value, dict) and all(matches(k, key_tp) and matches(v, value_tp) for k, v in value.items())
    if origin is type or tp is Callable or origin is Callable:
        return False
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def check_value(key: str, value: Any, tp: Any) -> None:
    """Raise ConfigError unless ``value`` fits ``tp``, naming ``key``, expected and actual."""
    if not matches(value, tp):
        raise ConfigError(f"config key {key!r}: expected {type_name(tp)}, got {type(value).__name__} {value!r}")


def _unknown_key(key: str, valid: Sequence[str]) -> ConfigError:
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"unknown config key {key!r}{hint}; valid keys here: {', '.join(valid)}")


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, checking keys, types and minimums.

    Raises:
        ConfigError: on an unknown or missing key, a wrong type or a value below its minimum.
    """
    if not isinstance(data, dict):
        where = f"config key {prefix.rstrip('.')!r}" if prefix else "the config"
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} {data!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise _unknown_key(f"{prefix}{key}", names)
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"missing required config key {key!r}")
            continue
        value = data[f.name]
        if dataclasses.is_dataclass(hints[f.name]):
            kwargs[f.name] = from_dict(hints[f.name], value, key + ".")
            continue
        check_value(key, value, hints[f.name])
        if "min" in f.metadata and value < f.metadata["min"]:
            raise ConfigError(f"config key {key!r}: expected an integer >= {f.metadata['min']}, got {value!r}")
        kwargs[f.name] = copy.deepcopy(value)
    return cls(**kwargs)


def parameter_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The annotations of ``function`` that resolve, one by one (SB3's ``GymEnv`` does not)."""
    hints = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints.update(get_type_hints(holder, globalns=function.__globals__))
        except Exception:  # noqa: BLE001  an unresolvable annotation: the name is still checked
            pass
    return hints
