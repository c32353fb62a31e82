"""Configs as pydantic models read from YAML: ``base:`` files, ``--set`` overrides, one-line errors.

Generic machinery of :mod:`brc_rl.experiments.config` and :mod:`brc_rl.supervised.protocol`;
it imports no torch. A config is a :class:`ConfigModel` (unknown keys refused, no type
coercion, attribute docstrings as field docs); :func:`read_yaml` reads a file and its
``base:`` chain with a loader that also takes YAML 1.2 floats such as ``3e-4``;
:func:`apply_overrides` applies ``key.sub=value`` strings; :func:`validate_model` turns
pydantic's ``ValidationError`` into a one-line :class:`ConfigError` naming the dotted key,
what was expected and what was given. :func:`schema_docs` lists every key with its type,
default and doc; :func:`add_model_arguments` and :func:`model_from_args` make a command
line of a model.
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
from pydantic_core import ErrorDetails, core_schema, to_jsonable_python

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


# --------------------------------------------------------------------------- models and errors
def config_key(key: str) -> str:
    """How an error names a key of a config file: ``config key 'policy.cell'``."""
    return f"config key {key!r}"


def option_name(key: str) -> str:
    """How an error names a command-line option: ``--black-lines``."""
    return "--" + key.replace("_", "-")


class ConfigModel(BaseModel):
    """Base of the config models: unknown keys refused, no coercion (``"8"``, ``true`` or ``8.0``
    for an int are refused; an int fits a float), attribute docstrings as field docs.

    Build one from data with :func:`validate_model` for one-line :class:`ConfigError` messages
    (direct construction raises pydantic's ``ValidationError``, also a ``ValueError``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


class Registry:
    """Field metadata: the value is a key of a plain dict registry, read when validating.

    Unknown names are refused with the valid ones; :func:`add_model_arguments` makes them
    the option's ``choices``.

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
    if tp is type(None):
        return "None"
    if get_origin(tp) is Annotated:
        return type_name(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(tp))
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("collections.abc.", "")


def _model(tp: Any) -> type[BaseModel] | None:
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def validate_model(model_cls: type[Model], data: Any, label: Callable[[str], str] = config_key) -> Model:
    """``model_cls`` built from ``data``; ``label`` names a key in errors (:func:`config_key`, :func:`option_name`).

    Raises:
        ConfigError: for the first error, in one line (see :func:`error_message`).
    """
    try:
        return model_cls.model_validate(data)
    except ValidationError as error:
        raise ConfigError(error_message(error.errors()[0], model_cls, data, label)) from None


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def error_message(error: ErrorDetails, model_cls: type[BaseModel], data: Any,
                  label: Callable[[str], str] = config_key) -> str:
    """One line for one pydantic error: the dotted key, what was expected and what was given.

    An error inside a field's value (an item of a list, a member of a union) is reported
    for the whole field, with the field's annotation as what was expected.
    """
    loc, kind, ctx = error["loc"], error["type"], error.get("ctx", {})
    owner, field, path, value = _model(model_cls), None, [], data
    for part in loc:  # down the nested models, as far as the location names fields
        if owner is None or part not in owner.model_fields:
            break
        field, value = owner.model_fields[part], value.get(part) if isinstance(value, Mapping) else value
        owner = _model(field.annotation)
        path.append(part)
    key = ".".join(path)
    where = f"{label(key)}: " if key else ("the config: " if kind == "model_type" else "")
    given = f"{type(value).__name__} {value!r}"
    if kind == "extra_forbidden":
        name, valid = ".".join(map(str, loc)), list(owner.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown config key {name!r}{hint}; valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return f"missing required config key {key!r}"
    if kind == "model_type":
        return f"{where}expected a mapping, got {given}"
    if kind == "value_error":
        return f"{where}{ctx['error']}"
    if kind == "literal_error":
        return f"{where}expected {ctx['expected']}, got {given}"
    if kind == "too_short":
        return f"{where}expected at least {ctx['min_length']} item(s), got {value!r}"
    bound = next((b for b in _BOUNDS if b in ctx), None)
    if bound:
        number = "an integer" if isinstance(value, int) else "a number"
        return f"{where}expected {number} {_BOUNDS[bound]} {ctx[bound]}, got {value!r}"
    if field is not None and (len(path) < len(loc) or kind.endswith("_type")):
        return f"{where}expected {type_name(field.annotation)}, got {given}"
    return f"{where}{error['msg']}, got {given}"


def check_type(key: str, value: Any, annotation: Any) -> None:
    """Raise ConfigError unless ``value`` fits ``annotation`` as a config field would (strict).

    Annotations pydantic cannot validate accept every value.
    """
    try:
        adapter = TypeAdapter(annotation, config=ConfigDict(strict=True, arbitrary_types_allowed=True))
    except PydanticUserError:  # an annotation pydantic cannot validate (not met in SB3's algorithms)
        return
    try:
        adapter.validate_python(value)
    except ValidationError:
        raise ConfigError(f"{config_key(key)}: expected {type_name(annotation)}, got "
                          f"{type(value).__name__} {value!r}") from None


# --------------------------------------------------------------------------- docs and command lines
def yaml_text(value: Any) -> str:
    """``value`` as one line of YAML (``[64]``, ``null``, ``0.001``)."""
    text = yaml.safe_dump(to_jsonable_python(value), default_flow_style=True)
    return text.removesuffix("...\n").strip()


def schema_docs(model_cls: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """``(key, type, default as YAML, doc)`` of every key of ``model_cls``, nested models walked.

    Keys of nested models are dotted (``policy.cell``); a required key's default is
    ``required``; the doc is the field's docstring on one line. The docs' config
    reference is generated from this.
    """
    rows = []
    for name, field in model_cls.model_fields.items():
        nested = _model(field.annotation)
        if nested is not None:
            rows += [(f"{name}.{key}", *rest) for key, *rest in schema_docs(nested)]
            continue
        default = "required" if field.is_required() else yaml_text(field.get_default(call_default_factory=True))
        rows.append((name, type_name(field.annotation), default, " ".join((field.description or "").split())))
    return rows


def _argument(field: Any) -> dict[str, Any]:
    """``add_argument`` keywords of one field: type, nargs, choices, help."""
    tp, metadata = field.annotation, list(field.metadata)
    if get_origin(tp) in (Union, types.UnionType):  # X | None -> X
        members = [arg for arg in get_args(tp) if arg is not type(None)]
        tp = members[0] if len(members) == 1 else str
    if get_origin(tp) is Annotated:
        metadata += tp.__metadata__
        tp = get_args(tp)[0]
    kwargs: dict[str, Any] = {}
    if get_origin(tp) in (tuple, list):
        kwargs["nargs"], tp = "+", get_args(tp)[0]
    choices = [m.names for m in metadata if isinstance(m, Registry)]
    if get_origin(tp) is Literal:
        choices.append(get_args(tp))
        tp = type(get_args(tp)[0])
    if tp is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        kwargs["type"] = tp
    text = " ".join((field.description or "").split()).rstrip(".")
    if choices:
        kwargs["choices"] = sorted(choices[0])
        text += f" (one of: {', '.join(kwargs['choices'])})"
    if not field.is_required() and field.default is not None:
        default = field.get_default(call_default_factory=True)
        text += f" (default: {' '.join(map(str, default)) if 'nargs' in kwargs else default})"
    kwargs["help"] = text.replace("%", "%%")
    return kwargs


def add_model_arguments(parser: argparse.ArgumentParser, model_cls: type[BaseModel],
                        positional: Sequence[str] = ()) -> None:
    """One command-line option per field of ``model_cls``, from the field's annotation and doc.

    A field ``black_lines`` becomes ``--black-lines`` (``required`` without a default),
    a field named in ``positional`` a positional argument. The type comes from the
    annotation (``X | None`` gives ``X``); tuples and lists take ``nargs="+"``; bools get
    ``--x/--no-x``; a ``Literal`` or a :class:`Registry` gives ``choices``. The help is the
    field's doc plus its default. Options not given stay out of the parsed namespace, so
    the model's defaults apply (:func:`model_from_args`).
    """
    for name, field in model_cls.model_fields.items():
        kwargs = _argument(field)
        if name in positional:
            parser.add_argument(name, metavar=name.upper(), **kwargs)
        else:
            parser.add_argument(option_name(name), dest=name, required=field.is_required(),
                                default=argparse.SUPPRESS, **kwargs)


def model_from_args(model_cls: type[Model], args: argparse.Namespace) -> Model:
    """The ``model_cls`` of the options :func:`add_model_arguments` added and the user gave.

    Raises:
        ConfigError: for an invalid value, naming the option (``--epochs: expected ...``).
    """
    data = {name: getattr(args, name) for name in model_cls.model_fields if hasattr(args, name)}
    return validate_model(model_cls, data, option_name)
