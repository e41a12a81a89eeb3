"""The documentation: the site builds with MkDocs in strict mode (a broken link between
pages, a missing anchor or a page left out of the navigation fails), every relative link of
the README and of docs/ that leaves the site (to code, configs, the committed report) points
at a file that exists, the command-line page names every subcommand and flag the parser has,
the README stays a front page, and the example notebook runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from shaping.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def slug(heading: str) -> str:
    """A heading's anchor as MkDocs' (Python-Markdown's toc) and GitHub make it for the
    headings used here: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s]+", "-", text).strip("-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_the_site_builds_strictly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "algorithms" / "lola" / "index.html").is_file()


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    text = FENCE.sub("", page.read_text())
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, broken


def test_the_command_line_page_names_every_command_and_flag():
    page = (DOCS / "cli.md").read_text()
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.choices and "match" in a.choices)
    missing = []
    for name, subparser in subparsers.choices.items():
        if f"## shaping {name}" not in page:
            missing.append(f"shaping {name}")
        for action in subparser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and flag not in page:
                    missing.append(f"shaping {name} {flag}")
    for action in parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help" and flag not in page:
                missing.append(f"shaping {flag}")
    assert not missing, missing


def test_the_readme_is_a_front_page():
    """What it is, the commands, the leaderboard and where to read on; the rest is in docs/."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for page in ("docs/index.md", "docs/leaderboard.md", "docs/league.md", "docs/cli.md"):
        assert f"]({page}" in readme


def test_the_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    notebook = nbformat.read(DOCS / "notebooks" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the match's numbers, the plot and the data frames were shown
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "final reward per step [lola, naive]" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(tables) >= 4 and all("<table" in table for table in tables)
