"""``extci completion bash|zsh``: a completion script generated from the parser itself, so
every command, option and choice the parser knows completes, and nothing else.

The script is two tables (the words after a command path; the choices after an option)
and a small function that walks the words typed so far. zsh runs the same function through
its ``bashcompinit``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

ROOT = "extci"


def _walk(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, list[str], dict[str, list[str]]]]:
    words: list[str] = []
    choices: dict[str, list[str]] = {}
    children: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                words.append(name)
                children.append((name, child))
        elif action.option_strings:
            words.extend(action.option_strings)
            if action.choices is not None:
                for option in action.option_strings:
                    choices[option] = [str(c) for c in action.choices]
        elif action.choices is not None:
            words.extend(str(c) for c in action.choices)
    yield path, words, choices
    for name, child in children:
        yield from _walk(child, f"{path} {name}")


def _assignments(table: dict[str, str]) -> str:
    import shlex

    return "\n".join(f"  [{shlex.quote(k)}]={shlex.quote(v)}" for k, v in table.items())


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    words: dict[str, str] = {}
    choices: dict[str, str] = {}
    for path, found, option_choices in _walk(parser, ROOT):
        words[path] = " ".join(found)
        for option, values in option_choices.items():
            choices[f"{path} {option}"] = " ".join(values)
    body = f"""\
declare -gA _extci_words=(
{_assignments(words)}
)
declare -gA _extci_choices=(
{_assignments(choices)}
)
_extci() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  local path={ROOT} word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    if [[ -n "${{_extci_words["$path $word"]+set}}" ]]; then path="$path $word"; fi
  done
  if [[ -n "${{_extci_choices["$path $prev"]+set}}" ]]; then
    COMPREPLY=($(compgen -W "${{_extci_choices["$path $prev"]}}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "${{_extci_words["$path"]}}" -- "$cur"))
  fi
}}
complete -F _extci extci
"""
    if shell == "zsh":
        header = (
            "#compdef extci\n# extci completion for zsh: source <(extci completion zsh)\n"
            "autoload -U +X bashcompinit && bashcompinit\n"
        )
    else:
        header = "# extci completion for bash: source <(extci completion bash)\n"
    return header + body


def register(sub: Any) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script: source <(extci completion bash)",
        description="Print a completion script; e.g. in ~/.bashrc: source <(extci completion bash)",
    )
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(handler=_print, completion=True)


def _print(args: argparse.Namespace) -> int:
    from extci.cli.main import build_parser

    print(script(build_parser(), args.shell), end="")
    return 0
