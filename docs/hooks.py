"""mkdocs hooks: the reference pages generated from the code, the results pages from results/.

A page asks for generated text with a marker on a line of its own:

- ``<!-- brc-rl: cli -->``: ``brc-rl --help`` and the help of every subcommand, from
  ``brc_rl.cli.build_parser()``.
- ``<!-- brc-rl: config MODULE:CLASS -->``: the config schema of CLASS (key, type,
  default, meaning), from its field docstrings.
- ``<!-- brc-rl: memory-keys -->``: the ``memory/*`` keys the agents log, from the
  docstring of the module that computes them.
- ``<!-- brc-rl: include PATH -->``: a file of the repository (``results/*.md``), as it is.

The figures of ``results/`` are added to the site under ``results/``, where the included
pages point to them. The tests import this module to check the generated text.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _this_checkout() -> None:
    """Put this checkout first on ``sys.path``, so that the docs document it whatever else is
    installed (mkdocs restores ``sys.path`` after loading the hooks: called again when rendering)."""
    if sys.path[:1] != [str(ROOT)]:
        sys.path.insert(0, str(ROOT))


_this_checkout()

MARKER = re.compile(r"^<!-- brc-rl: (?P<name>[\w-]+)(?: (?P<arg>\S+))? -->$", re.MULTILINE)
HELP_WIDTH = 100
#: Figures of results/ published with the results pages.
RESULT_FIGURES = tuple(sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("results/**/*.png")))


# --------------------------------------------------------------------------- CLI
def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser``, by name, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=HELP_WIDTH)
    return parser.format_help().rstrip()


def cli_markdown() -> str:
    """``brc-rl --help``, then a section per subcommand with its ``--help``."""
    from brc_rl.cli import build_parser

    parser = build_parser()
    parts = ["```text\n$ brc-rl --help\n" + _help(parser) + "\n```"]
    for name, sub in subcommands(parser).items():
        parts.append(f"## `brc-rl {name}`\n\n```text\n$ brc-rl {name} --help\n{_help(sub)}\n```")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- config schema
def schema_rows(model_cls: type) -> list[tuple[str, str, str, str]]:
    """``(key, type, default, doc)`` of every key of a config model."""
    from brc_rl.experiments.schema import schema_docs

    return schema_docs(model_cls)


def _cell(text: str) -> str:
    return text.replace("|", "&#124;")


def config_markdown(target: str) -> str:
    """The schema table of ``module:Class``."""
    module, _, name = target.partition(":")
    model_cls = getattr(importlib.import_module(module), name)
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, type_, default, doc in schema_rows(model_cls):
        lines.append(f"| `{key}` | `{type_}` | `{default}` | {_cell(doc)} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- logged keys
def memory_keys_markdown() -> str:
    """The docstring of :mod:`brc_rl.nn.stats`, which defines the ``memory/*`` keys."""
    return inspect.getdoc(importlib.import_module("brc_rl.nn.stats"))


# --------------------------------------------------------------------------- pages
def include_markdown(path: str) -> str:
    """A repository file, as it is."""
    return (ROOT / path).read_text().rstrip()


GENERATORS: dict[str, Any] = {
    "cli": lambda arg: cli_markdown(),
    "config": config_markdown,
    "memory-keys": lambda arg: memory_keys_markdown(),
    "include": include_markdown,
}


def render(markdown: str) -> str:
    """``markdown`` with every marker replaced by its generated text."""
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise ValueError(f"unknown docs marker {name!r}; valid: {', '.join(sorted(GENERATORS))}")
        return GENERATORS[name](match["arg"])

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    _this_checkout()
    return render(markdown)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path in RESULT_FIGURES:
        files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


#: Sphinx cross-reference roles in docstrings (``:class:`X```) that Markdown shows as text.
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return SPHINX_ROLE.sub("", html)
