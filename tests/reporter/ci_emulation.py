"""Just enough of GitHub Actions and Jenkins to run the examples' shell steps in order.

No YAML or Groovy library: the examples are written in a plain subset that these small
extractors read, and the tests fail loudly if an example drifts out of that subset.

GitHub Actions (workflow.yml and the composite action.yml):
  * ``env:`` mappings (workflow, step) with plain values or ``${{ job.status }}`` /
    ``${{ inputs.NAME }}``; other expressions are the test's to supply as variables.
  * steps with ``name``, ``if`` (only ``always()``), ``uses`` and ``run: |`` block scalars.
  * ``$GITHUB_ENV`` (``KEY=VALUE`` lines) and ``$GITHUB_PATH`` are honoured between steps.
Jenkins (declarative Jenkinsfile):
  * every ``sh '''…'''`` step in file order; those after ``post {`` run after the stages.
  * ``environment { KEY = 'literal' }`` entries; interpolated ones are the test's to supply.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class Step:
    name: str = ""
    uses: str | None = None
    run: str | None = None
    condition: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _mapping(lines: list[str], start: int, indent: int) -> tuple[dict[str, str], int]:
    """``KEY: value`` lines indented more than ``indent``, from ``start``."""
    values: dict[str, str] = {}
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        key, sep, value = lines[i].strip().partition(":")
        if sep and not lines[i].strip().startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
        i += 1
    return values, i


def parse_github(path: Path) -> tuple[dict[str, str], list[Step]]:
    """Top-level ``env`` and every step of a workflow or composite action."""
    lines = path.read_text().splitlines()
    top_env: dict[str, str] = {}
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("env:"):
            top_env, i = _mapping(lines, i + 1, 0)
            continue
        match = re.match(r"^(\s*)- (name|uses|run):", line)
        if match and _in_steps(lines, i):
            step_indent = len(match.group(1)) + 2
            step, i = _parse_step(lines, i, step_indent)
            steps.append(step)
            continue
        i += 1
    return top_env, steps


def _in_steps(lines: list[str], index: int) -> bool:
    indent = _indent(lines[index])
    for line in reversed(lines[:index]):
        if line.strip() and _indent(line) < indent:
            return line.strip() == "steps:"
    return False


def _parse_step(lines: list[str], i: int, indent: int) -> tuple[Step, int]:
    step = Step()
    first = True
    while i < len(lines):
        line = lines[i]
        if not first and line.strip() and _indent(line) < indent:
            break
        if not first and line.lstrip().startswith("- ") and _indent(line) == indent - 2:
            break
        text = line.strip().removeprefix("- ") if first else line.strip()
        first = False
        key, _sep, value = text.partition(":")
        value = value.strip()
        i += 1
        if key == "run" and value == "|":
            block = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
                block.append(lines[i])
                i += 1
            width = min(_indent(b) for b in block if b.strip())
            step.run = "\n".join(b[width:] for b in block) + "\n"
        elif key == "env":
            step.env, i = _mapping(lines, i, indent)
        elif key == "name":
            step.name = value
        elif key == "uses":
            step.uses = value
        elif key == "if":
            step.condition = value
    return step, i


def expand(value: str, context: dict[str, str]) -> str:
    """Replace ``${{ job.status }}`` / ``${{ inputs.x }}``; refuse any other expression."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in context:
            raise AssertionError(f"the emulation cannot evaluate ${{{{ {name} }}}}")
        return context[name]

    return _EXPR.sub(one, value)


def run_github_steps(
    steps: list[Step],
    env: dict[str, str],
    workdir: Path,
    *,
    actions: dict[str, Path],
    fail_step: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Run ``steps`` as a job would; returns the job status (success or failure) and env.

    ``actions`` maps a ``uses:`` prefix to a local composite action directory to run;
    other ``uses:`` steps (checkout) are skipped. ``fail_step`` makes that step fail.
    """
    status = "success"
    github_env, github_path = workdir / "github_env", workdir / "github_path"
    env = dict(env, GITHUB_ENV=str(github_env), GITHUB_PATH=str(github_path))
    for step in steps:
        if status != "success" and step.condition != "always()":
            continue
        if step.uses:
            action = next(
                (p for prefix, p in actions.items() if step.uses.startswith(prefix)), None
            )
            if action is not None:
                _, inner = parse_github(action / "action.yml")
                inner_env = dict(env, GITHUB_ACTION_PATH=str(action))
                context = {"inputs.pip-spec": ""}
                for sub in inner:
                    sub.env = {k: expand(v, context) for k, v in sub.env.items()}
                status, env = run_github_steps(inner, inner_env, workdir, actions={})
            env = _apply_files(env, github_env, github_path)
            continue
        assert step.run is not None, f"step {step.name!r} has neither run nor uses"
        step_env = dict(env)
        step_env.update({k: expand(v, {"job.status": status}) for k, v in step.env.items()})
        script = "exit 1\n" if step.name == fail_step else step.run
        done = subprocess.run(["bash", "-e", "-c", script], env=step_env, cwd=workdir, check=False)
        if done.returncode != 0:
            status = "failure"
        env = _apply_files(env, github_env, github_path)
    return status, env


def _apply_files(env: dict[str, str], github_env: Path, github_path: Path) -> dict[str, str]:
    env = dict(env)
    if github_env.exists():
        for line in github_env.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                env[key] = value
        github_env.write_text("")
    if github_path.exists():
        for entry in github_path.read_text().splitlines():
            if entry.strip():
                env["PATH"] = f"{entry.strip()}{os.pathsep}{env['PATH']}"
        github_path.write_text("")
    return env


def parse_jenkinsfile(path: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """(literal environment, stage ``sh`` scripts, post ``sh`` scripts)."""
    text = path.read_text()
    environment = dict(re.findall(r"^\s*(\w+)\s*=\s*'([^']*)'", text, flags=re.MULTILINE))
    split = re.search(r"^\s*post\s*\{", text, flags=re.MULTILINE)
    assert split is not None, "the Jenkinsfile has no post section"
    scripts = re.compile(r"\bsh\s+'''(.*?)'''", flags=re.DOTALL)
    return (
        environment,
        scripts.findall(text[: split.start()]),
        scripts.findall(text[split.start() :]),
    )
