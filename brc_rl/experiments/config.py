"""Training configs: pydantic models, YAML loading, ``--set`` overrides, validation.

A config file has the keys of :class:`TrainConfig` (sections ``env`` and ``policy``:
:class:`EnvConfig`, :class:`PolicyConfig`; ``hyperparams``: constructor arguments of the
algorithm). Names are resolved through plain dict registries (this module's, the algorithms'
``policy_aliases``, ``brc_rl.nn.RNN_REGISTRY``), never ``eval``-ed. Every error is a one-line
:class:`ConfigError` naming the key and the valid choices, raised by :func:`load_config`
before any environment or model is built.

Example:
    >>> config = load_config("configs/quickstart.yaml", ["policy.cell=gru", "seed=3"])
    >>> config.policy.cell, config.seed
    ('gru', 3)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import yaml
from pydantic import Field, ValidationInfo, field_validator, model_validator

from brc_rl.experiments.schema import (
    ConfigError,
    ConfigModel,
    Registry,
    apply_overrides,
    check_type,
    config_key,
    parse_scalar,
    read_yaml,
    schema_docs,
    unknown_name,
    validate_model,
)
from brc_rl.experiments.warmup import PolicyWarmupConfig

__all__ = [
    "ACTIVATIONS", "FEATURES_EXTRACTORS", "WRAPPERS", "VEC_ENVS", "SB3_CONTRIB_PPO", "NMD_POLICY", "ConfigError",
    "EnvConfig",
    "PolicyConfig", "TrainConfig", "apply_overrides", "config_from_dict", "dump_config", "load_config",
    "parse_assignments", "parse_scalar", "read_yaml", "schema_docs", "validate",
]


# --------------------------------------------------------------------------- registries
#: Activation names -> torch modules (``policy.activation_fn``).
ACTIVATIONS: dict[str, str | type] = {
    name: f"torch.nn:{cls}" for name, cls in {
        "tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU",
        "gelu": "GELU", "silu": "SiLU", "selu": "SELU", "sigmoid": "Sigmoid", "hardtanh": "Hardtanh",
    }.items()
}

#: Features-extractor names -> class or ``"module:attribute"`` path (``policy.features_extractor``).
#: Extend by adding an entry, e.g. ``FEATURES_EXTRACTORS["mine"] = "my_pkg.nets:MyExtractor"``.
FEATURES_EXTRACTORS: dict[str, str | type] = {
    "flatten": "stable_baselines3.common.torch_layers:FlattenExtractor",
    "nature_cnn": "stable_baselines3.common.torch_layers:NatureCNN",
    "combined": "stable_baselines3.common.torch_layers:CombinedExtractor",
    "minigrid_cnn": "brc_rl.agents.torch_layers:MiniGridCNN",
}

#: Gymnasium wrapper names -> class or ``"module:attribute"`` path (``env.wrappers``),
#: applied in order, outside SB3's ``Monitor``.
WRAPPERS: dict[str, str | Callable[..., Any]] = {
    "minigrid_img": "minigrid.wrappers:ImgObsWrapper",
    "minigrid_fully_obs": "minigrid.wrappers:FullyObsWrapper",
    "flatten": "gymnasium.wrappers:FlattenObservation",
    "prev_action_reward": "brc_rl.envs.wrappers:PrevActionReward",
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
        raise ConfigError(f"{config_key(key)}: {unknown_name(name, registry)}")
    entry = registry[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    return entry


#: Hyperparameters that take ``lin_<start>`` (a linear schedule) as well as a number.
SCHEDULED_HYPERPARAMS: tuple[str, ...] = ("learning_rate", "clip_range", "ent_coef")
LINEAR_PREFIX = "lin_"


def parse_schedule(key: str, value: str) -> Any:
    """``lin_<start>`` -> SB3's ``LinearSchedule(start, 0.0, 1.0)``: start at progress
    remaining 1, 0 at the end of the run (rl-baselines3-zoo's convention).

    Raises:
        ConfigError: for another string, naming the key and the expected form.
    """
    from stable_baselines3.common.utils import LinearSchedule

    try:
        start = float(value.removeprefix(LINEAR_PREFIX)) if value.startswith(LINEAR_PREFIX) else math.nan
    except ValueError:
        start = math.nan
    if not (math.isfinite(start) and start >= 0):
        raise ConfigError(f"config key {key!r}: expected a number or 'lin_<start>' with start >= 0 (a linear "
                          f"decay to 0, e.g. 'lin_0.01'), got {value!r}")
    return LinearSchedule(start, 0.0, 1.0)


def algo_hyperparams(hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """The algorithm's keyword arguments: ``hyperparams`` with every ``lin_<start>`` string
    of :data:`SCHEDULED_HYPERPARAMS` turned into its schedule (:func:`parse_schedule`)."""
    return {name: parse_schedule(f"hyperparams.{name}", value)
            if name in SCHEDULED_HYPERPARAMS and isinstance(value, str) else value
            for name, value in hyperparams.items()}


#: ``algo`` of sb3-contrib's ``RecurrentPPO``, the LSTM baseline: its policy is an LSTM whose
#: ``policy_kwargs`` :func:`brc_rl.experiments.run.policy_kwargs` maps from the ``policy`` section.
SB3_CONTRIB_PPO = "sb3_contrib_ppo"

#: The neuromodulated policy, the only one that reads ``policy.context_size``.
NMD_POLICY = "NmdRecurrentPolicy"

#: Defaults of ``policy`` keys that follow ``algo`` (where the config does not set them).
POLICY_DEFAULTS: dict[str, dict[str, str]] = {SB3_CONTRIB_PPO: {"name": "MlpLstmPolicy", "cell": "lstm"}}


def algorithms() -> dict[str, type]:
    """``algo`` names -> classes: ``brc_rl.agents.ALGORITHMS`` and sb3-contrib's ``RecurrentPPO``
    (:data:`SB3_CONTRIB_PPO`), imported on first use (torch, SB3)."""
    from sb3_contrib import RecurrentPPO

    from brc_rl.agents import ALGORITHMS

    return {**ALGORITHMS, SB3_CONTRIB_PPO: RecurrentPPO}


# --------------------------------------------------------------------------- schema
class EnvConfig(ConfigModel):
    """The training environment (section ``env``)."""

    id: str
    """Gymnasium id, e.g. ``brc_rl/TMaze-v0`` or ``MiniGrid-MemoryS7-v0`` (``module:Id`` imports module first)."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of ``gymnasium.make`` (checked against the env's constructor when it has no ``**kwargs``)."""
    eval_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Overrides of ``kwargs`` for evaluation only (the periodic evaluations, ``brc-rl eval``, ``brc-rl horizon``):
    train on an easier variant and evaluate on the task, e.g. ``{cue_start_prob: 0.0}``."""
    schedules: dict[str, str] = Field(default_factory=dict)
    """Environment arguments changed during training (a curriculum): ``{name: 'lin_<start>'}`` sets the
    training envs' attribute ``name`` to ``start * progress_remaining`` at each rollout (from ``start`` down to
    0 at the end, as :func:`parse_schedule`), each env taking it at its next reset; e.g. ``{cue_start_prob:
    lin_1.0}``. Evaluation envs keep ``kwargs`` and ``eval_kwargs``."""
    n_envs: int = Field(8, ge=1)
    """Number of parallel environments."""
    wrappers: list[str | dict[str, dict[str, Any]]] = Field(default_factory=list)
    """Gymnasium wrappers by name (``WRAPPERS``), in order; ``{name: {kwarg: value}}`` passes arguments."""
    vec_env: Annotated[str, Registry(VEC_ENVS)] = "dummy"
    """Vectorisation (``VEC_ENVS``): ``dummy`` (one process) or ``subproc``."""
    normalize_obs: bool = False
    """Wrap in SB3 ``VecNormalize`` normalising observations (statistics saved with checkpoints)."""
    normalize_reward: bool = False
    """Wrap in SB3 ``VecNormalize`` normalising rewards (training only; evaluation sees raw rewards)."""
    normalize_gamma: float | None = Field(None, gt=0.0, le=1.0)
    """Discount of the returns whose running std scales the rewards (``VecNormalize(gamma=...)``);
    null: the algorithm's ``hyperparams.gamma`` (its default 0.99 if unset), as rl-baselines3-zoo does."""


class PolicyConfig(ConfigModel):
    """The policy and its memory (section ``policy``; becomes ``policy_kwargs``)."""

    name: str = "MlpRecurrentPolicy"
    """Policy alias of the algorithm: ``MlpRecurrentPolicy``, ``CnnRecurrentPolicy``, ``MultiInputRecurrentPolicy``,
    ``NmdRecurrentPolicy`` (neuromodulated; needs the ``prev_action_reward`` wrapper in ``dict`` mode); for
    ``sb3_contrib_ppo`` ``MlpLstmPolicy`` (its default), ``CnnLstmPolicy``, ``MultiInputLstmPolicy``."""
    cell: str = "nbrc"
    """Memory cell (``brc_rl.nn.RNN_REGISTRY``): ``brc``, ``nbrc``, ``gru``, ``lstm``, ``lsnn``, ``src``; only
    ``lstm`` (the default) for ``sb3_contrib_ppo``."""
    hidden_size: int = Field(128, ge=1)
    """Units per recurrent layer (sb3-contrib: ``lstm_hidden_size``)."""
    num_layers: int = Field(1, ge=1)
    """Stacked recurrent layers (sb3-contrib: ``n_lstm_layers``)."""
    shared_memory: bool = False
    """One memory shared by actor and critic, else the critic has its own (sb3-contrib: ``shared_lstm``, and
    ``enable_critic_lstm`` the opposite)."""
    net_arch: list[int] | dict[str, list[int]] = Field(default_factory=lambda: [64])
    """Hidden layers after the memory: ``[64]`` for both heads or ``{pi: [..], vf: [..]}``; for
    ``NmdRecurrentPolicy`` the main network's modulated layers (the authors': ``[10]``, ``[30, 10]``)."""
    activation_fn: Annotated[str, Registry(ACTIVATIONS)] = "tanh"
    """Activation of ``net_arch`` (``ACTIVATIONS``); ``hardtanh`` is the NMD authors' clip to [-1, 1]."""
    context_size: int = Field(10, ge=1)
    """``NmdRecurrentPolicy`` only (the other policies ignore it): units of the context z per modulated layer of
    the main network and for its heads; z has ``context_size * (len(net_arch) + 1)`` units (the authors': 10, 15)."""
    features_to_head: bool = False
    """The heads (``net_arch``) read the features extractor's output beside the memory's, where the action
    depends on what is remembered and what is seen now together. Not for ``NmdRecurrentPolicy`` (its main network
    reads the observation) or ``sb3_contrib_ppo``."""
    log_std_init: float | None = None
    """Initial log standard deviation of Gaussian actions (Box action spaces); null: the policy's default
    (0 for SB3's policies, -0.5 for ``NmdRecurrentPolicy``, the authors' log-variance -1)."""
    features_extractor: Annotated[str, Registry(FEATURES_EXTRACTORS)] | None = None
    """Features extractor by name (``FEATURES_EXTRACTORS``); null keeps the policy's default."""
    features_extractor_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the features extractor (needs ``features_extractor``)."""
    normalize_images: bool = True
    """Divide image observations by 255 (set false for MiniGrid's symbolic codes in a 0-255 Box)."""
    ortho_init: bool = True
    """Orthogonal initialisation of the heads (SB3); must be false for ``NmdRecurrentPolicy`` (the authors' init)."""
    rnn_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments of the cell (``brc_rl.nn.make_rnn``), e.g. ``{recurrent_init: orthogonal}`` for nbrc;
    none for ``sb3_contrib_ppo``."""
    warmup: PolicyWarmupConfig | None = None
    """Warm the memories up to multistability before learning, on the untrained agent's own episodes (Lambrechts
    et al. 2023); null: no warm-up. Not for ``sb3_contrib_ppo``. VAA before and after: tensorboard/warmup/ and
    warmup.json in the run folder."""

    @field_validator("net_arch")
    @classmethod
    def _heads_are_pi_and_vf(cls, net_arch: list[int] | dict[str, list[int]]) -> list[int] | dict[str, list[int]]:
        if isinstance(net_arch, dict) and set(net_arch) - {"pi", "vf"}:
            raise ValueError(f"a mapping has keys pi and vf, got {sorted(net_arch)}")
        return net_arch

    @field_validator("features_extractor_kwargs")
    @classmethod
    def _extractor_is_named(cls, kwargs: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if kwargs and info.data.get("features_extractor") is None:
            raise ValueError("needs 'policy.features_extractor'")
        return kwargs


class TrainConfig(ConfigModel):
    """A training run (the top level of a config file)."""

    algo: str
    """Algorithm: ``ppo`` or ``a2c`` (``brc_rl.agents.ALGORITHMS``), or ``sb3_contrib_ppo`` (sb3-contrib's
    ``RecurrentPPO``, an LSTM)."""
    env: EnvConfig
    """The training environment (section, see ``EnvConfig``)."""
    total_timesteps: int = Field(ge=1)
    """Environment steps to train for (over all ``n_envs``)."""
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    """The policy and its memory (section, see ``PolicyConfig``)."""
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    """Constructor arguments of the algorithm (``n_steps``, ``learning_rate``, ...), checked against its signature.
    ``learning_rate``, ``clip_range`` and ``ent_coef`` also take ``lin_<start>``, a linear decay
    from start to 0 over the run (rl-baselines3-zoo's spelling; see :func:`algo_hyperparams`)."""
    seed: int = 0
    """Seed of the model and the environments (eval envs use ``seed + 1000``)."""
    device: str = "auto"
    """Torch device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ..."""
    log_dir: str = "runs"
    """Parent folder of the run folder when ``run_dir`` is null."""
    run_dir: str | None = None
    """Run folder; null makes ``{log_dir}/{env}_{algo}_{cell}_s{seed}_{time}``."""
    checkpoint_freq: int = Field(10_000, ge=0)
    """Checkpoint every this many env steps (after the update that crosses it; 0: only at the end)."""
    keep_checkpoints: int = Field(3, ge=1)
    """Number of most recent checkpoints kept."""
    eval_freq: int = Field(10_000, ge=0)
    """Evaluate on a separate env every this many env steps (0: never)."""
    eval_episodes: int = Field(20, ge=1)
    """Episodes per periodic evaluation."""
    eval_deterministic: bool = True
    """Greedy actions in periodic evaluation."""
    progress_bar: bool = True
    """Show SB3's progress bar."""

    @model_validator(mode="before")
    @classmethod
    def _policy_defaults_of_algo(cls, data: Any) -> Any:
        algo, policy = (data.get("algo"), data.get("policy", {})) if isinstance(data, Mapping) else (None, None)
        if isinstance(algo, str) and algo in POLICY_DEFAULTS and isinstance(policy, Mapping):
            return {**data, "policy": {**POLICY_DEFAULTS[algo], **policy}}
        return data

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML-ready data (pydantic's ``model_dump()``)."""
        return self.model_dump()


#: Keys that ``--resume`` may change (others would not match the saved model).
RESUME_OVERRIDABLE: tuple[str, ...] = (
    "total_timesteps", "checkpoint_freq", "keep_checkpoints", "eval_freq", "eval_episodes",
    "eval_deterministic", "progress_bar", "device",
)


# --------------------------------------------------------------------------- validation
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
            where = f"{key} {name}" if key.startswith("-") else config_key(f"{key}.{name}")
            raise ConfigError(f"{where}: {env_id} takes no argument {name!r}; valid: {', '.join(valid)}")


def validate(config: TrainConfig) -> TrainConfig:
    """Check the names the models cannot check alone; return ``config``.

    The algorithm, its policy alias, the cell (``lstm`` and no ``rnn_kwargs`` for
    ``sb3_contrib_ppo``), the wrappers, the environment id (registered with Gymnasium once
    brc_rl.envs and minigrid are imported) and its kwargs, the hyperparameters against the
    names and annotations of the algorithm's constructor, and, for our algorithms,
    ``batch_size`` cutting the rollout along whole environments (k * n_steps, k | n_envs;
    sb3-contrib cuts minibatches of steps and checks its own). Imports the algorithm and
    wrapper classes; builds no environment and no model.

    Raises:
        ConfigError: naming the first bad key and its valid choices.
    """
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers MiniGrid-*)

    import brc_rl.envs  # noqa: F401  (registers brc_rl/*)
    from brc_rl.agents import RecurrentOnPolicyAlgorithm, valid_batch_sizes
    from brc_rl.nn import RNN_REGISTRY

    algo_cls = resolve(algorithms(), config.algo, "algo")
    aliases = getattr(algo_cls, "policy_aliases", {})
    if config.policy.name not in aliases:
        raise ConfigError(f"config key 'policy.name': {unknown_name(config.policy.name, aliases)} "
                          f"(the policies of algo {config.algo!r})")
    resolve(RNN_REGISTRY, config.policy.cell, "policy.cell")
    if config.policy.features_to_head and (config.algo == SB3_CONTRIB_PPO or config.policy.name == NMD_POLICY):
        which = "sb3-contrib's RecurrentPPO" if config.algo == SB3_CONTRIB_PPO else NMD_POLICY
        raise ConfigError(f"config key 'policy.features_to_head': {which} does not take it "
                          f"(only algo ppo or a2c with a policy other than {NMD_POLICY})")
    if config.policy.name == NMD_POLICY and config.policy.ortho_init:
        raise ConfigError(f"config key 'policy.ortho_init': {NMD_POLICY} has the authors' truncated-normal init; "
                          "set false, got true")
    if config.algo == SB3_CONTRIB_PPO and config.policy.cell != "lstm":
        raise ConfigError(f"config key 'policy.cell': sb3-contrib's RecurrentPPO policy is an LSTM; "
                          f"set lstm or leave the key out, got {config.policy.cell!r}")
    if config.algo == SB3_CONTRIB_PPO and config.policy.warmup is not None:
        raise ConfigError("config key 'policy.warmup': brc-rl warms up the memories of its own algorithms (ppo, a2c), "
                          "not sb3-contrib's RecurrentPPO; leave it out")
    if config.algo == SB3_CONTRIB_PPO and config.policy.rnn_kwargs:
        raise ConfigError(f"config key 'policy.rnn_kwargs': sb3-contrib's RecurrentPPO takes no cell arguments; "
                          f"leave it empty, got {config.policy.rnn_kwargs!r}")
    for i, spec in enumerate(config.env.wrappers):
        if isinstance(spec, dict) and len(spec) != 1:
            raise ConfigError(
                f"config key 'env.wrappers[{i}]': a wrapper with arguments is one {{name: {{...}}}} entry, got {spec!r}"
            )
        resolve(WRAPPERS, spec if isinstance(spec, str) else next(iter(spec)), f"env.wrappers[{i}]")

    module, sep, name = config.env.id.rpartition(":")
    if sep:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"config key 'env.id': cannot import module {module!r} of {config.env.id!r}: {error}"
                              ) from None
    if name not in gym.registry:
        close = difflib.get_close_matches(name, list(gym.registry), n=5, cutoff=0.6)
        hint = f"close matches: {', '.join(close)}" if close else "no close match; see gymnasium.pprint_registry()"
        raise ConfigError(f"config key 'env.id': unknown environment {name!r}; {hint}")
    check_env_kwargs(config.env.id, config.env.kwargs)
    check_env_kwargs(config.env.id, config.env.eval_kwargs, key="env.eval_kwargs")
    check_env_kwargs(config.env.id, config.env.schedules, key="env.schedules")
    for name, value in config.env.schedules.items():
        parse_schedule(f"env.schedules.{name}", value)

    params = inspect.signature(algo_cls.__init__).parameters
    valid = sorted(n for n in params if n != "self" and n not in RESERVED_HYPERPARAMS)
    for name, value in config.hyperparams.items():
        key = f"hyperparams.{name}"
        if name in RESERVED_HYPERPARAMS:
            raise ConfigError(f"config key {key!r} is set by config key {RESERVED_HYPERPARAMS[name]!r}")
        if name not in valid:
            raise ConfigError(
                f"config key {key!r}: {algo_cls.__module__.partition('.')[0]}'s {algo_cls.__name__} takes no argument "
                f"{name!r}; valid: {', '.join(valid)}"
            )
        if isinstance(value, str) and (name in SCHEDULED_HYPERPARAMS or value.startswith(LINEAR_PREFIX)):
            if name not in SCHEDULED_HYPERPARAMS:
                raise ConfigError(f"config key {key!r}: only {', '.join(SCHEDULED_HYPERPARAMS)} take 'lin_<start>'")
            parse_schedule(key, value)
            continue
        init = algo_cls.__init__
        if name in init.__annotations__:
            try:  # one at a time: some annotations do not resolve (SB3's ``GymEnv``); the name is still checked
                hint = get_type_hints(types.SimpleNamespace(__annotations__={name: init.__annotations__[name]}),
                                      globalns=init.__globals__)[name]
            except Exception:  # noqa: BLE001
                continue
            check_type(key, value, hint)

    if issubclass(algo_cls, RecurrentOnPolicyAlgorithm) and "batch_size" in params and "n_steps" in params:
        n_steps = config.hyperparams.get("n_steps", params["n_steps"].default)
        batch_size = config.hyperparams.get("batch_size", params["batch_size"].default)
        valid_sizes = valid_batch_sizes(n_steps, config.env.n_envs)
        if batch_size is not None and batch_size not in valid_sizes:
            raise ConfigError(
                f"config key 'hyperparams.batch_size': {batch_size} does not cut a rollout of n_steps={n_steps} "
                f"x env.n_envs={config.env.n_envs} into whole environments; valid: {', '.join(map(str, valid_sizes))}"
                " or null"
            )
    return config


def config_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a mapping plus ``--set`` overrides."""
    return validate(validate_model(TrainConfig, apply_overrides(dict(data), overrides)))


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


def parse_assignments(pairs: Sequence[str], option: str) -> dict[str, Any]:
    """``["key=value", ...]`` as a mapping, values parsed as YAML scalars.

    Raises:
        ConfigError: for a pair without ``=``, naming ``option``.
    """
    kwargs = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option} {pair!r} must look like key=value")
        kwargs[key] = parse_scalar(text)
    return kwargs


def dump_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as YAML (the resolved config of a run)."""
    Path(path).write_text(yaml.safe_dump(config.model_dump(), sort_keys=False, default_flow_style=None))
