"""README's "Every command" table and dependency table against the code they describe.

A new user types the options README lists and installs what pyproject lists: an option README
names that the parser lacks is an error at the prompt, one the parser has that README leaves out
is never found, and a dependency without a row is one nobody can say why the project carries.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from civicwatch.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
GROUPS = {"eval", "models", "users", "demo", "report"}  # commands whose first word picks a sub-command


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start : end if end != -1 else len(README)]


def _usages() -> list[tuple[tuple[str, ...], str, bool]]:
    """(command path, usage text, complete) for each usage the command table gives; ``complete``
    is False where README elides options with ``[...]``."""
    out = []
    for row in _section("### Every command").splitlines():
        if not row.startswith("| `civicwatch "):
            continue
        usages = re.findall(r"`((?:civicwatch )?[a-z]+ [^`]*)`", row.split(" | ")[0])
        for usage in usages:
            words = usage.removeprefix("civicwatch ").split()
            if words[0] not in GROUPS and usage is not usages[0]:  # `users list` after `civicwatch users add`
                words = [out[-1][0][0], *words]
            path = tuple(words[:2]) if words[0] in GROUPS else (words[0],)
            out.append((path, usage, "[...]" not in usage))
    return out


def _parser_for(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


USAGES = _usages()


def test_the_table_covers_every_command():
    commands = {path[0] for path, _, _ in USAGES}
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert commands == set(sub.choices)


@pytest.mark.parametrize("path, usage, complete", USAGES, ids=[" ".join(u[0]) for u in USAGES])
def test_each_command_has_the_options_readme_gives_it(path, usage, complete):
    parser = _parser_for(path)
    options = {s for a in parser._actions for s in a.option_strings if s.startswith("--")} - {"--help"}
    documented = set(re.findall(r"--[a-z][a-z-]*", usage))
    assert documented - options == set(), f"README gives `{' '.join(path)}` options it does not have"
    if complete:
        assert options - documented == set(), f"`{' '.join(path)}` has options README's table leaves out"


def test_every_dependency_has_a_row_saying_why():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    rows = [r.split(" | ")[0] for r in _section("## Dependencies and why").splitlines() if r.startswith("| ")]
    named = {re.sub(r"\[.*?\]", "", n).strip().lower() for r in rows for n in re.split(r"[,:]", r.lstrip("| "))}
    names = {re.split(r"[<>=\[ ]", req, maxsplit=1)[0].lower() for req in wanted}
    assert {n for n in names if n not in named and f"{n} (pyav)" not in named} == set()


def _all_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _all_parsers(child, (*path, name))


def test_every_argument_of_every_command_says_what_it_is_in_help():
    """``civicwatch serve --help`` listed ``--log-level`` bare, ``users add --help`` a bare
    ``--role``: a new user's first reference is the help, so every argument carries a line."""
    bare = [
        f"{' '.join(path) or 'civicwatch'} {action.option_strings[0] if action.option_strings else action.dest}"
        for path, parser in _all_parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) and not action.help
    ]
    assert bare == []
