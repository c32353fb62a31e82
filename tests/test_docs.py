"""The docs: generated pages cover the code, no text names a file the repository lacks,
README's test command is the one CI runs. (CI builds the site itself: ``mkdocs build --strict``.)"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import re
import shlex
import subprocess
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: A repository path: a top-level folder of the repository, then a file name with a known
#: extension; or a bare Markdown file name (``cells.md``). Templates (``<run>``, ``{a,b}``,
#: ``*``) are not paths.
REPO_PATH = re.compile(
    r"(?<![\w./-])(?:(?:brc_rl|benchmarks|configs|docs|results|tests|\.ci)/[\w./-]*\.(?:py|ya?ml|md|json|png|pt|log|txt)"
    r"|[\w-]+\.md)(?![\w/<{*])"
)


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hooks():
    return load_hooks()


def repository_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return {path for path in listed if (ROOT / path).exists()}


LINK = re.compile(r"\]\(([^)#\s]+)")
OPTION_BEFORE = re.compile(r"--[\w-]+[ =]$")


def missing_paths(text: str, files: set[str], folder: str = "") -> list[str]:
    """Paths named in ``text`` that are not files (or, bare names, file names) of the repository.

    Markdown link targets are relative to ``folder`` (the page's, in the repository); other
    mentions to the repository root. A bare name right after an option (``--output x.md``)
    is the user's file.
    """
    names = {Path(f).name for f in files}
    folders = {str(parent) for f in files for parent in Path(f).parents}
    missing = []
    for target in LINK.findall(text):
        if "://" not in target and not target.startswith("mailto:"):
            resolved = (ROOT / folder / target).resolve()
            if not resolved.exists() or not resolved.is_relative_to(ROOT):
                missing.append(target)
    text = LINK.sub("](", text)
    for match in REPO_PATH.finditer(text):
        path = match.group().rstrip(".")
        if "/" not in path and OPTION_BEFORE.search(text[:match.start()]):
            continue
        known = (path in files or path in folders) if "/" in path else path in names
        if not known:
            missing.append(path)
    return missing


def docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    found = [ast.get_docstring(n) for n in nodes]
    # attribute docstrings: a string expression right after an assignment
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            found += [b.value.value for b in body if isinstance(b, ast.Expr)
                      and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str)]
    return sorted({d for d in found if d})


# --------------------------------------------------------------------------- generated pages
def test_cli_page_has_every_subcommand(hooks):
    from brc_rl.cli import build_parser

    names = list(hooks.subcommands(build_parser()))
    assert {"train", "eval", "horizon", "bandit-regret", "bandit-baselines", "supervised",
            "supervised-table"} <= set(names)
    page = hooks.render((ROOT / "docs" / "reference" / "cli.md").read_text())
    for name in names:
        assert f"## `brc-rl {name}`" in page
        assert f"usage: brc-rl {name}" in page


@pytest.mark.parametrize("target", ["brc_rl.experiments.config:TrainConfig",
                                    "brc_rl.experiments.sweep:SweepConfig",
                                    "brc_rl.experiments.sweep:SchedulerConfig",
                                    "brc_rl.supervised.protocol:SupervisedConfig"])
def test_config_page_has_every_key(hooks, target):
    page = hooks.render((ROOT / "docs" / "reference" / "config.md").read_text())
    assert f"<!-- brc-rl: config {target} -->" in (ROOT / "docs" / "reference" / "config.md").read_text()
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)

    def keys(cls: type, prefix: str = "") -> list[str]:
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                out += keys(hints[f.name], prefix + f.name + ".")
            else:
                out.append(prefix + f.name)
        return out

    expected = keys(cls) if dataclasses.is_dataclass(cls) else [row[0] for row in hooks.schema_rows(cls)]
    assert expected
    for key in expected:
        assert f"| `{key}` |" in page, key
    rows = hooks.schema_rows(cls)
    assert all(doc for _, _, _, doc in rows), "every config key needs a docstring"


def test_memory_keys_are_documented(hooks):
    text = hooks.memory_keys_markdown()
    assert "memory/" in text and "bistable" in text
    assert "<!-- brc-rl: memory-keys -->" in (ROOT / "docs" / "guide" / "agents.md").read_text()


def test_unknown_marker_is_refused(hooks):
    with pytest.raises(ValueError, match="unknown docs marker 'nope'; valid: cli, config"):
        hooks.render("<!-- brc-rl: nope -->")


def test_included_files_and_figures_exist(hooks):
    for page in (ROOT / "docs").rglob("*.md"):
        for match in hooks.MARKER.finditer(page.read_text()):
            if match["name"] == "include":
                included = ROOT / match["arg"]
                assert included.is_file(), (page, match["arg"])
                # every figure an included results file shows is published with the site
                for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", included.read_text()):
                    figure = (included.parent / image).resolve().relative_to(ROOT)
                    assert str(figure) in hooks.RESULT_FIGURES, (match["arg"], image)


# --------------------------------------------------------------------------- file names
def test_path_pattern():
    files = {"configs/quickstart.yaml", "docs/results/cell-speed.md", "README.md"}
    text = ("`configs/quickstart.yaml`, `configs/x.yaml`, cells.md, README.md, docs/results/cell-speed.md, "
            "configs/<task>/<algo>_<cell>.yaml, runs/a.yaml, brc_rl/TMaze-v0, results/supervised/*/results.json, "
            "--output tables.md, [speed](results/cell-speed.md), [gone](results/gone.md), [web](https://x.org/a.md)")
    assert missing_paths(text, files, "docs") == ["results/gone.md", "configs/x.yaml", "cells.md"]


def test_docs_and_readme_name_only_files_that_exist():
    files = repository_files()
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    missing = {str(p.relative_to(ROOT)): missing_paths(p.read_text(), files, str(p.parent.relative_to(ROOT)))
               for p in pages}
    assert {page: paths for page, paths in missing.items() if paths} == {}


def test_docstrings_name_only_files_that_exist():
    files = repository_files()
    missing = {}
    for path in sorted((ROOT / "brc_rl").rglob("*.py")):
        paths = [p for doc in docstrings(path) for p in missing_paths(doc, files)]
        if paths:
            missing[str(path.relative_to(ROOT))] = paths
    assert missing == {}


# --------------------------------------------------------------------------- CI
def test_readme_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    ci_tests = [line.strip() for line in ci.splitlines() if line.strip().startswith("python -m pytest")]
    assert ci_tests == ["python -m pytest -q"]
    quick_start = readme[readme.index("## Quick start"):readme.index("## Examples")]
    commands = [c.strip() for line in quick_start.splitlines() for c in line.split("&&")
                if c.strip().startswith("python -m pytest")]
    assert commands == ci_tests
    assert shlex.split(commands[0]) == ["python", "-m", "pytest", "-q"]
