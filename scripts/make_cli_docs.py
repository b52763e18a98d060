"""Write docs/cli.md from the command line's parser (netlib/cli/parser.py): every subcommand's --help.

Usage: python scripts/make_cli_docs.py [--check]   (--check: exit 1 when docs/cli.md is not what it would write)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from netlib.cli.parser import build_parser  # noqa: E402  (after the repository is on the path)

CLI_MD = REPO / "docs" / "cli.md"
WIDTH = "100"  # argparse wraps to $COLUMNS: fixed, so the file does not depend on the terminal

HEAD = """# The command line: `python -m netlib`

Generated from `netlib/cli/parser.py` by `python scripts/make_cli_docs.py`; do not edit by hand
(`tests/test_docs.py` fails when this file is stale). Examples: the README's cheat sheet and
[guide.md](guide.md); each `train` option's type, range and default comes from `netlib/request.py`.
"""


def subcommands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """(words, parser, help) for every subcommand, depth first, in the parser's own order."""
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*words, name), sub, helps.get(name, "")
                yield from subcommands(sub, (*words, name))


def render() -> str:
    """docs/cli.md's text: the top-level help, then one section per subcommand."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = build_parser()
        parts = [HEAD, "## `python -m netlib`\n", "```text\n" + parser.format_help().rstrip() + "\n```\n"]
        for words, sub, text in subcommands(parser):
            parts.append(f"## `python -m netlib {' '.join(words)}`\n")
            if text:
                parts.append(text[0].upper() + text[1:] + ".\n")
            parts.append("```text\n" + sub.format_help().rstrip() + "\n```\n")
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if CLI_MD.is_file() and CLI_MD.read_text() == text:
            return 0
        print("docs/cli.md is stale: run python scripts/make_cli_docs.py", file=sys.stderr)
        return 1
    CLI_MD.write_text(text)
    print(f"wrote {CLI_MD.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
