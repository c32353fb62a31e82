"""Training configs: a dataclass schema, YAML loading, ``--set`` overrides, validation.

A config is a YAML mapping with the keys of :class:`TrainConfig` (sections ``env``
and ``policy`` have the keys of :class:`EnvConfig` and :class:`PolicyConfig`;
``hyperparams`` takes any constructor argument of the chosen algorithm). Names are
resolved through the plain dict registries of this module (``ACTIVATIONS``,
``FEATURES_EXTRACTORS``, ``WRAPPERS``, ``VEC_ENVS``), the algorithms of
``brc_rl.agents.ALGORITHMS`` and their ``policy_aliases``, and the cells of
``brc_rl.nn.RNN_REGISTRY``; nothing is ever ``eval``-ed. Every error is a
:class:`ConfigError` naming the key and the valid choices, raised by
:func:`load_config` before any environment or model is built.

Example:
    >>> config = load_config("configs/quickstart.yaml", ["policy.cell=gru", "seed=3"])
    >>> config.policy.cell, config.seed
    ('gru', 3)
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib
import inspect
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml
from torch import nn


class ConfigError(ValueError):
    """An invalid training config; the message names the key and the valid choices."""


# --------------------------------------------------------------------------- registries
#: Activation names -> torch modules (``policy.activation_fn``).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU, "silu": nn.SiLU, "selu": nn.SELU, "sigmoid": nn.Sigmoid,
}

#: Features-extractor names -> class or ``"module:attribute"`` path (``policy.features_extractor``).
#: Extend by adding an entry, e.g. ``FEATURES_EXTRACTORS["mine"] = "my_pkg.nets:MyExtractor"``.
FEATURES_EXTRACTORS: dict[str, str | type] = {
    "flatten": "stable_baselines3.common.torch_layers:FlattenExtractor",
    "nature_cnn": "stable_baselines3.common.torch_layers:NatureCNN",
    "combined": "stable_baselines3.common.torch_layers:CombinedExtractor",
    "minigrid_cnn": "brc_rl.envs.extractors:MiniGridCNN",
}

#: Gymnasium wrapper names -> class or ``"module:attribute"`` path (``env.wrappers``),
#: applied in order, outside SB3's ``Monitor``.
WRAPPERS: dict[str, str | Callable[..., Any]] = {
    "minigrid_img": "minigrid.wrappers:ImgObsWrapper",
    "minigrid_fully_obs": "minigrid.wrappers:FullyObsWrapper",
    "flatten": "gymnasium.wrappers:FlattenObservation",
}

#: Vectorised-env names -> SB3 class path (``env.vec_env``).
VEC_ENVS: dict[str, str] = {
    "dummy": "stable_baselines3.common.vec_env:DummyVecEnv",
    "subproc": "stable_baselines3.common.vec_env:SubprocVecEnv",
}

#: Constructor arguments of the algorithm that other config keys set.
RESERVED_HYPERPARAMS: dict[str, str] = {
    "policy": "policy.name", "env": "env", "policy_kwargs": "policy",
    "tensorboard_log": "run_dir", "seed": "seed", "device": "device",
    "_init_setup_model": "(internal)",
}


def resolve(registry: Mapping[str, Any], name: str, key: str) -> Any:
    """Look ``name`` up in ``registry``, importing ``"module:attribute"`` entries.

    Raises:
        ConfigError: for an unknown name, naming ``key`` and the valid names.
    """
    if not isinstance(name, str) or name not in registry:
        raise ConfigError(f"config key {key!r}: unknown name {name!r}; valid: {', '.join(sorted(registry))}")
    entry = registry[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    return entry


def algorithms() -> dict[str, type]:
    """``brc_rl.agents.ALGORITHMS``, imported on first use (torch, SB3)."""
    from brc_rl.agents import ALGORITHMS

    return ALGORITHMS


# --------------------------------------------------------------------------- schema
@dataclass
class EnvConfig:
    """The training environment (section ``env``)."""

    id: str
    """Gymnasium id, e.g. ``brc_rl/TMaze-v0`` or ``MiniGrid-MemoryS7-v0`` (``module:Id`` imports module first)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``gymnasium.make`` (checked against the env's constructor when it has no ``**kwargs``)."""
    n_envs: int = field(default=8, metadata={"min": 1})
    """Number of parallel environments."""
    wrappers: list[Union[str, dict[str, dict[str, Any]]]] = field(default_factory=list)
    """Gymnasium wrappers by name (``WRAPPERS``), in order; ``{name: {kwarg: value}}`` passes arguments."""
    vec_env: str = "dummy"
    """Vectorisation (``VEC_ENVS``): ``dummy`` (one process) or ``subproc``."""
    normalize_obs: bool = False
    """Wrap in SB3 ``VecNormalize`` normalising observations (statistics saved with checkpoints)."""
    normalize_reward: bool = False
    """Wrap in SB3 ``VecNormalize`` normalising rewards (training only; evaluation sees raw rewards)."""


@dataclass
class PolicyConfig:
    """The policy and its memory (section ``policy``; becomes ``policy_kwargs``)."""

    name: str = "MlpRecurrentPolicy"
    """Policy alias of the algorithm: ``MlpRecurrentPolicy``, ``CnnRecurrentPolicy``, ``MultiInputRecurrentPolicy``."""
    cell: str = "nbrc"
    """Memory cell (``brc_rl.nn.RNN_REGISTRY``): ``brc``, ``nbrc``, ``gru``, ``lstm``."""
    hidden_size: int = field(default=128, metadata={"min": 1})
    """Units per recurrent layer."""
    num_layers: int = field(default=1, metadata={"min": 1})
    """Stacked recurrent layers."""
    shared_memory: bool = False
    """One memory shared by actor and critic (else the critic has its own)."""
    net_arch: Union[list[int], dict[str, list[int]]] = field(default_factory=lambda: [64])
    """Hidden layers after the memory: ``[64]`` for both heads or ``{pi: [..], vf: [..]}``."""
    activation_fn: str = "tanh"
    """Activation of ``net_arch`` (``ACTIVATIONS``)."""
    features_extractor: Union[str, None] = None
    """Features extractor by name (``FEATURES_EXTRACTORS``); null keeps the policy's default."""
    features_extractor_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the features extractor (needs ``features_extractor``)."""
    normalize_images: bool = True
    """Divide image observations by 255 (set false for MiniGrid's symbolic codes in a 0-255 Box)."""
    ortho_init: bool = True
    """Orthogonal initialisation of the heads (SB3)."""


@dataclass
class TrainConfig:
    """A training run (the top level of a config file)."""

    algo: str
    """Algorithm (``brc_rl.agents.ALGORITHMS``): ``ppo`` or ``a2c``."""
    env: EnvConfig
    """The training environment (section, see ``EnvConfig``)."""
    total_timesteps: int = field(metadata={"min": 1})
    """Environment steps to train for (over all ``n_envs``)."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    """The policy and its memory (section, see ``PolicyConfig``)."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Constructor arguments of the algorithm (``n_steps``, ``learning_rate``, ...), checked against its signature."""
    seed: int = 0
    """Seed of the model and the environments (eval envs use ``seed + 1000``)."""
    device: str = "auto"
    """Torch device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ..."""
    log_dir: str = "runs"
    """Parent folder of the run folder when ``run_dir`` is null."""
    run_dir: Union[str, None] = None
    """Run folder; null makes ``{log_dir}/{env}_{algo}_{cell}_s{seed}_{time}``."""
    checkpoint_freq: int = field(default=10_000, metadata={"min": 0})
    """Checkpoint every this many env steps (after the update that crosses it; 0: only at the end)."""
    keep_checkpoints: int = field(default=3, metadata={"min": 1})
    """Number of most recent checkpoints kept."""
    eval_freq: int = field(default=10_000, metadata={"min": 0})
    """Evaluate on a separate env every this many env steps (0: never)."""
    eval_episodes: int = field(default=20, metadata={"min": 1})
    """Episodes per periodic evaluation."""
    eval_deterministic: bool = True
    """Greedy actions in periodic evaluation."""
    progress_bar: bool = True
    """Show SB3's progress bar."""

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML-ready data."""
        return dataclasses.asdict(self)


#: Keys that ``--resume`` may change (others would not match the saved model).
RESUME_OVERRIDABLE: tuple[str, ...] = (
    "total_timesteps", "checkpoint_freq", "keep_checkpoints", "eval_freq", "eval_episodes",
    "eval_deterministic", "progress_bar", "device",
)


# --------------------------------------------------------------------------- YAML
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


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file into a mapping.

    Raises:
        ConfigError: if the file is missing, is not YAML, or is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


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


# --------------------------------------------------------------------------- types
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


# --------------------------------------------------------------------------- validation
def check_env_id(env_id: str, key: str = "env.id") -> None:
    """Check that ``env_id`` is registered with Gymnasium (after importing brc_rl.envs and minigrid).

    Raises:
        ConfigError: for an unknown id, listing close matches from the registry.
    """
    import gymnasium as gym

    import brc_rl.envs  # noqa: F401  (registers brc_rl/*)

    try:
        import minigrid  # noqa: F401  (registers MiniGrid-*)
    except ImportError:  # pragma: no cover
        pass
    module, sep, name = env_id.rpartition(":")
    if sep:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"config key {key!r}: cannot import module {module!r} of {env_id!r}: {error}") from None
    if name not in gym.registry:
        close = difflib.get_close_matches(name, list(gym.registry), n=5, cutoff=0.6)
        hint = f"close matches: {', '.join(close)}" if close else "no close match; see gymnasium.pprint_registry()"
        raise ConfigError(f"config key {key!r}: unknown environment {name!r}; {hint}")


def check_env_kwargs(env_id: str, kwargs: Mapping[str, Any], key: str = "env.kwargs") -> None:
    """Check ``kwargs`` against the env constructor's parameters when it takes no ``**kwargs``.

    Raises:
        ConfigError: for a keyword the constructor does not take, listing those it does.
    """
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    spec = gym.spec(env_id.rpartition(":")[2])
    creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
    params = inspect.signature(creator).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    valid += [n for n in ("max_episode_steps", "disable_env_checker", "render_mode") if n not in valid]
    for name in kwargs:
        if name not in valid:
            where = f"{key} {name}" if key.startswith("-") else f"config key {key + '.' + name!r}"
            raise ConfigError(f"{where}: {env_id} takes no argument {name!r}; valid: {', '.join(valid)}")


def check_hyperparams(algo_cls: type, hyperparams: Mapping[str, Any]) -> None:
    """Check ``hyperparams`` against the algorithm constructor's names and annotations.

    Raises:
        ConfigError: for a reserved or unknown name (listing the valid ones) or a wrong type.
    """
    params = inspect.signature(algo_cls.__init__).parameters
    try:
        hints = get_type_hints(algo_cls.__init__)
    except Exception:  # unresolvable annotations: names are still checked
        hints = {}
    valid = sorted(n for n in params if n != "self" and n not in RESERVED_HYPERPARAMS)
    for name, value in hyperparams.items():
        key = f"hyperparams.{name}"
        if name in RESERVED_HYPERPARAMS:
            raise ConfigError(f"config key {key!r} is set by config key {RESERVED_HYPERPARAMS[name]!r}")
        if name not in valid:
            raise ConfigError(f"config key {key!r}: {algo_cls.__name__} takes no argument {name!r}; valid: {', '.join(valid)}")
        if name in hints:
            check_value(key, value, hints[name])


def _check_wrappers(wrappers: Sequence[Any]) -> None:
    for i, spec in enumerate(wrappers):
        if isinstance(spec, dict) and len(spec) != 1:
            raise ConfigError(f"config key 'env.wrappers[{i}]': a wrapper with arguments is one {{name: {{...}}}} entry, got {spec!r}")
        name = spec if isinstance(spec, str) else next(iter(spec))
        resolve(WRAPPERS, name, f"env.wrappers[{i}]")


def validate(config: TrainConfig) -> TrainConfig:
    """Check every name of ``config`` against its registry; return ``config``.

    Imports the algorithm, policy, activation, extractor and wrapper classes; builds
    no environment and no model.

    Raises:
        ConfigError: naming the first bad key and its valid choices.
    """
    from brc_rl.nn import RNN_REGISTRY

    algo_cls = resolve(algorithms(), config.algo, "algo")
    resolve(getattr(algo_cls, "policy_aliases", {}), config.policy.name, "policy.name")
    resolve(RNN_REGISTRY, config.policy.cell, "policy.cell")
    resolve(ACTIVATIONS, config.policy.activation_fn, "policy.activation_fn")
    if config.policy.features_extractor is not None:
        resolve(FEATURES_EXTRACTORS, config.policy.features_extractor, "policy.features_extractor")
    elif config.policy.features_extractor_kwargs:
        raise ConfigError("config key 'policy.features_extractor_kwargs' needs 'policy.features_extractor'")
    if isinstance(config.policy.net_arch, dict) and set(config.policy.net_arch) - {"pi", "vf"}:
        raise ConfigError(f"config key 'policy.net_arch': a mapping has keys pi and vf, got {sorted(config.policy.net_arch)}")
    resolve(VEC_ENVS, config.env.vec_env, "env.vec_env")
    _check_wrappers(config.env.wrappers)
    check_env_id(config.env.id)
    check_env_kwargs(config.env.id, config.env.kwargs)
    check_hyperparams(algo_cls, config.hyperparams)
    return config


def config_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a mapping plus ``--set`` overrides."""
    return validate(from_dict(TrainConfig, apply_overrides(dict(data), overrides)))


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read, override, type-check and validate a config file.

    Args:
        path: a YAML file with the keys of :class:`TrainConfig`.
        overrides: ``"key.subkey=value"`` strings, values parsed as YAML scalars.

    Returns:
        The validated config.

    Raises:
        ConfigError: on any invalid key, type or name, before anything is built.
    """
    return config_from_dict(read_yaml(path), overrides)


def dump_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as YAML (the resolved config of a run)."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None))


def schema_docs() -> list[tuple[str, str, str, str]]:
    """``(key, type, default, doc)`` of every config key, from the field docstrings.

    The README's schema table is written from this; a test checks every field has a doc.
    """
    import ast

    tree = ast.parse(Path(__file__).read_text())
    docs: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            body = node.body
            for stmt, nxt in zip(body, body[1:]):
                if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                    docs[(node.name, stmt.target.id)] = " ".join(str(nxt.value.value).split())
    rows = []

    def walk(cls: type, prefix: str) -> None:
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                walk(hints[f.name], prefix + f.name + ".")
                continue
            if f.default is not MISSING or f.default_factory is not MISSING:
                default = repr(f.default if f.default is not MISSING else f.default_factory())
            else:
                default = "required"
            rows.append((prefix + f.name, type_name(hints[f.name]), default, docs.get((cls.__name__, f.name), "")))

    walk(TrainConfig, "")
    return rows
