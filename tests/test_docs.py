"""The docs stay true: commands shown parse, modules and tests named exist, images shown exist, cli.md is fresh."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest

from netlib.analysis import cost
from netlib.cli.parser import UsageError, build_parser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = [README, REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
SHOWN = [p for p in DOCS if p.name not in ("cli.md", "CHANGELOG.md")]  # cli.md is the parser's own output


def script(name: str):
    """A module of scripts/ (not a package), loaded from its file."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass in it looks its module up there
    spec.loader.exec_module(module)
    return module


def code_block_commands(text: str) -> list[str]:
    """Each `python -m netlib ...` command in the text's fenced code blocks, continuation lines joined."""
    out = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#\s|\s#$", line + " ")[0]  # a comment
            for part in re.split(r"\s(?:\||&&|;|&)\s|\s&$", line + " "):
                m = re.search(r"python3? -m netlib(?=\s|$)(.*)", part)
                if m:
                    out.append(m.group(1).strip())
    return out


def inline_commands(text: str) -> list[str]:
    """Each `python -m netlib ...` command in inline code (it may hold placeholders such as M or LR)."""
    return [m.strip() for m in re.findall(r"`python3? -m netlib\b([^`]*)`", text)]


def concrete(command: str) -> list[str]:
    """A shown command as argv: optional [...] parts dropped, a|b|c alternatives read as their first."""
    words = shlex.split(re.sub(r"\[[^\]]*\]", " ", command))
    return [w.split("|")[0] if "|" in w and not w.startswith("-") else w for w in words]


def subparsers() -> dict[tuple[str, ...], object]:
    """{(subcommand words): its parser}, the top-level parser under ()."""
    parser = build_parser()
    found = {(): parser}
    for words, sub, _ in script("make_cli_docs").subcommands(parser):
        found[words] = sub
    return found


def shown_commands() -> list[tuple[str, str]]:
    return [(p.name, c) for p in SHOWN for c in code_block_commands(p.read_text())]


def test_every_command_shown_in_a_code_block_parses():
    """Built and parsed, never run: argparse reads each word. One test, not one per command: the test ids
    stay the same in every xdist worker even while someone edits a doc."""
    bad = []
    for where, command in shown_commands():
        argv = concrete(command)
        if not argv or argv[-1] in ("-h", "--help"):
            continue
        try:
            build_parser().parse_args(argv)
        except UsageError as e:
            bad.append(f"{where}: python -m netlib {command}: {e}")
    assert not bad, bad
    assert len(shown_commands()) >= 20  # the extraction finds the docs' examples


def test_every_flag_shown_exists_for_its_subcommand():
    parsers, bad = subparsers(), []
    for path in SHOWN:
        text = path.read_text()
        for command in inline_commands(text) + code_block_commands(text):  # exact: argparse takes abbreviations
            words = concrete(command)
            n = 0
            while n < len(words) and tuple(words[:n + 1]) in parsers:
                n += 1
            options = {o for a in parsers[tuple(words[:n])]._actions for o in a.option_strings}
            for flag in (f for w in words[n:] if w.startswith("--") for f in w.split("=")[0].split("/")):
                if flag not in options:
                    bad.append(f"{path.name}: `python -m netlib {command}`: {flag}")
    assert not bad, bad


def test_cli_md_is_what_the_parser_generates():
    assert (REPO / "docs" / "cli.md").read_text() == script("make_cli_docs").render(), \
        "docs/cli.md is stale: run python scripts/make_cli_docs.py"


def layer_table() -> list[tuple[str, list[str]]]:
    """design.md's table of rooms: (folder, files named) per row; a row without a room continues the last."""
    text = (REPO / "docs" / "design.md").read_text()
    section = text.split("## 6. The layers of the code", 1)[1].split("\n## ", 1)[0]
    rows, folder = [], None
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) < 3 or cells[0] in ("room", "---"):
            continue
        if cells[0]:
            where = re.findall(r"`([^`]+/)`", cells[0])
            folder = where[0] if where else ""
        rows.append((folder, re.findall(r"`([\w./]+\.py)`", cells[1])))
    return rows


def test_every_module_in_design_md_s_layer_table_exists_and_every_module_is_named():
    named = {str(Path(folder) / f) for folder, files in layer_table() for f in files}
    assert named, "design.md section 6 has no layer table"
    assert not sorted(n for n in named if not (REPO / n).is_file()), "named in design.md but missing"
    modules = [*(REPO / "netlib").rglob("*.py"), *(REPO / "app_pages").glob("*.py"), REPO / "app.py"]
    on_disk = {str(p.relative_to(REPO)) for p in modules if not p.name.startswith("__")}
    assert sorted(on_disk - named) == [], "modules design.md's layer table does not name"


def test_every_test_named_in_the_docs_exists():
    missing = []
    for path in DOCS:
        for file, name, prefix in re.findall(r"(test_\w+\.py)::(test_\w+)(\.\.\.)?", path.read_text()):
            source = REPO / "tests" / file
            end = "" if prefix else r"\("  # a name shown cut short (name...) is a prefix
            found = source.is_file() and re.search(rf"def {name}{end}", source.read_text())
            if not found:
                missing.append(f"{path.name}: {file}::{name}{prefix}")
        for file in re.findall(r"tests/(test_\w+\.py)\b", path.read_text()):
            if not (REPO / "tests" / file).is_file():
                missing.append(f"{path.name}: tests/{file}")
    assert not missing, missing


def prose(path: Path) -> str:
    """A markdown file without its code (a link written inside backticks is an example, not a link)."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", path.read_text(), flags=re.S))


def test_every_image_the_docs_show_exists():
    missing = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#]+\.(?:png|jpg|gif|svg))\)", prose(path)):
            if not (path.parent / target).is_file():
                missing.append(f"{path.name}: {target}")
    assert not missing, missing


def test_every_local_link_in_the_docs_points_to_a_file():
    missing = [f"{p.name}: {t}" for p in DOCS for t in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", prose(p))
               if not (p.parent / t).exists()]
    assert not missing, missing


def test_the_readme_is_a_front_door():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 200
    first = [line.split("#")[0].strip() for line in lines[3:5]]  # the two commands under the title
    assert first[0].endswith("streamlit run app.py") and first[1] == "bash scripts/test.sh"
    assert "http://localhost:8501" in "\n".join(lines[:40])
    from app_pages._common import PAGES
    table = text.split("## The pages", 1)[1].split("\n## ", 1)[0]
    assert [re.search(r"\*\*(\w+)\*\*", row).group(1) for row in table.splitlines() if row.startswith("| **")] \
        == [p.title for p in PAGES]  # every page, in the navigation's order


def test_the_readme_says_how_to_expose_the_server_deliberately():
    section = README.read_text().split("## Exposing the server", 1)[1][:1500]
    assert "--server.address 0.0.0.0" in section and "docs/robustness.md" in section


def test_the_guide_s_cost_table_is_the_code_s():
    text = (REPO / "docs" / "guide.md").read_text()
    for in_ch, size in ((10, 12), (20, 4), (64, 12), (192, 1)):
        row = f"| {cost.block_cost(in_ch, True, size).total_macs:,} | {cost.block_cost(in_ch, False, size).total_macs:,} |"
        assert row in text, row


def test_the_screenshot_script_takes_every_page_of_the_app():
    from app_pages._common import PAGES
    shots = script("take_screenshots").SHOTS
    assert {s.page for s in shots} == {p.path for p in PAGES}
    assert {"draw_phone", "draw_tablet"} <= {s.name for s in shots}
    missing = [s.name for s in shots if not (REPO / "docs" / "screenshots" / f"{s.name}.png").is_file()]
    assert not missing, missing
