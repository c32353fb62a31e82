"""Configs as pydantic models read from YAML: ``base:`` files, ``--set`` overrides, one-line errors.

Generic machinery of :mod:`brc_rl.experiments.config` and :mod:`brc_rl.supervised.protocol`
(no torch): :class:`ConfigModel`, the YAML loader, :func:`validate_model` turning pydantic's
``ValidationError`` into a one-line :class:`ConfigError`, and the docs and command line of a model.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import re
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import core_schema, to_jsonable_python

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """An invalid config; the one-line message names the key and the valid choices."""


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


def read_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML file that holds a mapping, as it is (a ``base:`` key is not resolved).

    Raises:
        ConfigError: if the file is missing, is not YAML, or is not a mapping (``what`` names it).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist")
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


def read_yaml(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config file into a mapping, resolving its ``base:`` chain.

    ``base: other.yaml`` (relative to the file's folder) is read first, recursively, and
    the file's own keys are :func:`deep_merge`-d over it; the ``base`` key is dropped.

    Raises:
        ConfigError: if a file is missing, is not YAML, or is not a mapping; if
            ``base`` is not a string; or if the chain of bases has a cycle.
    """
    path = Path(path)
    data = read_mapping(path)
    if "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str):
        raise ConfigError(f"config key 'base' in {str(path)!r} must be a relative path (str), got {base!r}")
    chain = (*_chain, path.resolve())
    if (path.parent / base).resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, (path.parent / base).resolve()))
        raise ConfigError(f"config 'base' chain has a cycle: {cycle}")
    return deep_merge(read_yaml(path.parent / base, chain), data)


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


# --------------------------------------------------------------------------- models and errors
def config_key(key: str) -> str:
    """How an error names a key of a config file: ``config key 'policy.cell'``."""
    return f"config key {key!r}"


class ConfigModel(BaseModel):
    """Base of the config models: unknown keys refused, no coercion (``"8"``, ``true`` or ``8.0`` for
    an int are refused; an int fits a float), attribute docstrings as field docs; see :func:`validate_model`."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


class Registry:
    """Field metadata: the value is a key of a plain dict registry, read when validating.

    Example:
        ``activation_fn: Annotated[str, Registry(ACTIVATIONS)] = "tanh"``
    """

    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def check(self, name: str) -> str:
        if name not in self.names:
            raise ValueError(unknown_name(name, self.names))
        return name


def unknown_name(name: Any, names: Mapping[str, Any]) -> str:
    """``unknown name 'x'; valid: a, b`` (sorted)."""
    return f"unknown name {name!r}; valid: {', '.join(sorted(names))}"


def type_name(tp: Any) -> str:
    """A readable name of an annotation: ``int``, ``list[int]``, ``float | None``."""
    if get_origin(tp) is Annotated:
        return type_name(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(tp))
    if isinstance(tp, type) and not get_args(tp):
        return "None" if tp is type(None) else tp.__name__
    return str(tp).replace("typing.", "").replace("collections.abc.", "")


def _model(tp: Any) -> type[BaseModel] | None:
    """The config model of a field's annotation, ``Model`` or ``Model | None``; else None."""
    return _optional(tp)[0]


def _optional(tp: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(tp, False)`` otherwise; X a config model or None."""
    optional = get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)
    if optional:
        members = [arg for arg in get_args(tp) if arg is not type(None)]
        tp = members[0] if len(members) == 1 else None
    return (tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None), optional


def validate_model(model_cls: type[Model], data: Any, label: Callable[[str], str] = config_key) -> Model:
    """``model_cls`` built from ``data``; ``label`` names a key in errors (default :func:`config_key`).

    Raises:
        ConfigError: for pydantic's first error, in one line: the dotted key, what was
            expected (an error inside a field's value, such as a list item, is reported
            for the whole field and its annotation) and what was given.
    """
    try:
        return model_cls.model_validate(data)
    except ValidationError as errors:
        error = errors.errors()[0]
    loc, kind, ctx = error["loc"], error["type"], error.get("ctx", {})
    owner, field, path, value = model_cls, None, [], data
    for part in loc:  # down the nested models, as far as the location names fields
        if owner is None or part not in owner.model_fields:
            break
        field, value = owner.model_fields[part], value.get(part) if isinstance(value, Mapping) else value
        owner = _model(field.annotation)
        path.append(part)
    key, given = ".".join(path), f"{type(value).__name__} {value!r}"
    where = f"{label(key)}: " if key else ("the config: " if kind == "model_type" else "")
    bounds = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    bound = next((b for b in bounds if b in ctx), None)
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1)
        message = (f"unknown config key {'.'.join(map(str, loc))!r}{f' (did you mean {close[0]!r}?)' if close else ''}"
                   f"; valid keys here: {', '.join(owner.model_fields)}")
    elif kind == "missing":
        message = f"missing required config key {key!r}"
    elif kind == "value_error":
        message = f"{where}{ctx['error']}"
    elif kind == "too_short":
        message = f"{where}expected at least {ctx['min_length']} item(s), got {value!r}"
    elif bound:
        number = "an integer" if isinstance(value, int) else "a number"
        message = f"{where}expected {number} {bounds[bound]} {ctx[bound]}, got {value!r}"
    elif kind in ("model_type", "literal_error") or (field and (len(path) < len(loc) or kind.endswith("_type"))):
        expected = {"model_type": "a mapping", "literal_error": ctx.get("expected")}.get(kind)
        message = f"{where}expected {expected or type_name(field.annotation)}, got {given}"
    else:
        message = f"{where}{error['msg']}, got {given}"
    raise ConfigError(message) from None


def check_type(key: str, value: Any, annotation: Any) -> None:
    """Raise ConfigError unless ``value`` fits ``annotation`` as a config field would (strict); an
    annotation pydantic cannot validate accepts every value."""
    try:
        TypeAdapter(annotation, config=ConfigDict(strict=True, arbitrary_types_allowed=True)).validate_python(value)
    except PydanticUserError:  # an annotation pydantic cannot validate (not met in SB3's algorithms)
        pass
    except ValidationError:
        raise ConfigError(f"{config_key(key)}: expected {type_name(annotation)}, got "
                          f"{type(value).__name__} {value!r}") from None


# --------------------------------------------------------------------------- docs and command lines
def schema_docs(model_cls: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """``(key, type, default as YAML or ``required``, doc on one line)`` of every key of ``model_cls``,
    nested models walked (``policy.cell``); the docs' config reference is generated from this."""
    rows = []
    for name, field in model_cls.model_fields.items():
        nested, optional = _optional(field.annotation)
        if nested is None or optional:  # an optional section has a row of its own (null: absent)
            default = "required" if field.is_required() else yaml.safe_dump(to_jsonable_python(
                field.get_default(call_default_factory=True)), default_flow_style=True).removesuffix("...\n").strip()
            rows.append((name, type_name(field.annotation), default, " ".join((field.description or "").split())))
        if nested is not None:
            rows += [(f"{name}.{key}", *rest) for key, *rest in schema_docs(nested)]
    return rows


def add_model_arguments(parser: argparse.ArgumentParser, model_cls: type[BaseModel],
                        positional: Sequence[str] = ()) -> None:
    """One command-line option per field of ``model_cls``, from the field's annotation and doc.

    A field ``black_lines`` becomes ``--black-lines`` (``required`` without a default),
    a field named in ``positional`` a positional argument. ``X | None`` gives ``X``;
    tuples and lists take ``nargs="+"``; bools get ``--x/--no-x``; a ``Literal`` or a
    :class:`Registry` gives ``choices``. The help is the field's doc plus its default.
    Options not given stay out of the namespace, so the model's defaults apply. An optional
    section ``warmup: Section | None`` gives ``--warmup`` (the section with its defaults)
    and an option ``--warmup-<key>`` per key of the section, which implies ``--warmup``.
    """
    for name, field in model_cls.model_fields.items():
        nested, optional = _optional(field.annotation)
        if nested is not None and optional:
            doc = " ".join((field.description or "").split()).rstrip(".")
            parser.add_argument("--" + _option(name), dest=name, action="store_const", const={},
                                default=argparse.SUPPRESS, help=f"{doc} (with its defaults; the options "
                                f"--{_option(name)}-* change them)".replace("%", "%%"))
            for key, sub in nested.model_fields.items():
                _add_argument(parser, f"{name}.{key}", sub, option=f"{_option(name)}-{_option(key)}")
            continue
        _add_argument(parser, name, field, positional=name in positional)


def _option(name: str) -> str:
    return name.replace("_", "-")


def _add_argument(parser: argparse.ArgumentParser, dest: str, field: Any, positional: bool = False,
                  option: str | None = None) -> None:
    """The argument of one field (see :func:`add_model_arguments`)."""
    tp, metadata, kwargs = field.annotation, list(field.metadata), {}
    if get_origin(tp) in (Union, types.UnionType):  # X | None -> X
        members = [arg for arg in get_args(tp) if arg is not type(None)]
        tp = members[0] if len(members) == 1 else str
    if get_origin(tp) is Annotated:
        metadata += tp.__metadata__
        tp = get_args(tp)[0]
    if get_origin(tp) in (tuple, list):
        kwargs["nargs"], tp = "+", get_args(tp)[0]
    choices = [m.names for m in metadata if isinstance(m, Registry)]
    if get_origin(tp) is Literal:
        choices.append(get_args(tp))
        tp = type(get_args(tp)[0])
    kwargs.update({"action": argparse.BooleanOptionalAction} if tp is bool else {"type": tp})
    text = " ".join((field.description or "").split()).rstrip(".")
    if choices:
        kwargs["choices"] = sorted(choices[0])
        text += f" (one of: {', '.join(kwargs['choices'])})"
    if not field.is_required() and field.default is not None:
        default = field.get_default(call_default_factory=True)
        text += f" (default: {' '.join(map(str, default)) if 'nargs' in kwargs else default})"
    kwargs["help"] = text.replace("%", "%%")
    if positional:
        parser.add_argument(dest, metavar=dest.upper(), **kwargs)
    else:
        parser.add_argument("--" + (option or _option(dest)), dest=dest, required=field.is_required(),
                            default=argparse.SUPPRESS, **kwargs)


def model_from_args(model_cls: type[Model], args: argparse.Namespace) -> Model:
    """The ``model_cls`` of the options :func:`add_model_arguments` added and the user gave.

    Raises:
        ConfigError: for an invalid value, naming the option (``--epochs: expected ...``).
    """
    data = {name: getattr(args, name) for name in model_cls.model_fields if hasattr(args, name)}
    for name, field in model_cls.model_fields.items():
        nested = _model(field.annotation)
        given = {} if nested is None else {key: getattr(args, f"{name}.{key}") for key in nested.model_fields
                                           if hasattr(args, f"{name}.{key}")}
        if given:
            data[name] = {**(data.get(name) or {}), **given}
    return validate_model(model_cls, data, lambda key: "--" + _option(key).replace(".", "-"))
