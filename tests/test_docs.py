"""The documentation holds together: a README short enough to read in a minute, naming the commands CI
runs, and every relative link and image of the docs resolving to a file (and a heading, for #anchors)."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 150


def doc_files() -> list[Path]:
    """The Markdown files whose links must resolve: the README, docs/, benchmarks/ and the changelog."""
    files = [
        README,
        ROOT / "CHANGELOG.md",
        ROOT / "benchmarks" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    return [f for f in files if f.exists()]


FENCE = re.compile(r"^\s*(```|~~~)")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the text may hold one level of brackets (an image inside a link)
MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (a link or a # line inside a code block is code)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: the rendered text lower-cased, every character but letters,
    digits, '_', '-' and spaces dropped, spaces turned into '-'."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("*", "")  # emphasis (underscores stay: they are in code names)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does (-1, -2, …)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        m = ATX_HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    for m in re.finditer(r"<a\s+(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", path.read_text(encoding="utf-8")):
        found.add(m.group(1))
    return found


def links(path: Path) -> list[str]:
    """The relative link and image targets of a Markdown file, outside code."""
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        line = INLINE_CODE.sub("", line)
        targets += [m.group(1).strip("<>") for m in MD_LINK.finditer(line)]
        targets += HTML_LINK.findall(line)
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]  # no URLs


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def broken(path: Path, target: str) -> str | None:
    """Why `target`, linked from `path`, does not resolve; None when it does."""
    file, _, anchor = target.partition("#")
    dest = (path.parent / unquote(file)).resolve() if file else path
    if not dest.exists():
        return f"{target}: no file {_shown(dest)}"
    if anchor:
        if dest.suffix.lower() != ".md":
            return f"{target}: an anchor into a file that is not Markdown"
        if unquote(anchor).lower() not in anchors(dest):
            return f"{target}: no heading #{anchor} in {_shown(dest)}"
    return None


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_readme_names_the_commands_ci_runs():
    """.ci/run runs the README's commands through make: `make test` and `make lint` must be in the README
    and be targets of the Makefile."""
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in ("make run", "make test", "make lint"):
        assert command in readme, f"README.md does not name `{command}`"
    for target in ("test", "lint"):
        assert f"make {target}" in ci
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile has no target {target}"


def test_readme_shows_the_headline_figure():
    assert "docs/images/headline.png" in links(README)


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(path):
    problems = [why for t in links(path) if (why := broken(path, t))]
    assert not problems, f"{path.relative_to(ROOT)}: broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "heading, expected",
    [
        ("Estimate: `estimate.py`", "estimate-estimatepy"),
        ("`bench_attacks_metrics.py`", "bench_attacks_metricspy"),
        ("The paper's Tables 2–5 as data", "the-papers-tables-25-as-data"),
        (
            "On real CIFAR-10: what matches the paper and what does not",
            "on-real-cifar-10-what-matches-the-paper-and-what-does-not",
        ),
        ("Transfer or white-box?", "transfer-or-white-box"),
        ("**Bold** and [a link](x.md)", "bold-and-a-link"),
        ("Dataset × regime", "dataset--regime"),
    ],
)
def test_slug_follows_github(heading, expected):
    assert slug(heading) == expected


def test_checker_catches_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n## Same\n\n## Same\n", encoding="utf-8")
    doc = tmp_path / "b.md"
    doc.write_text("[ok](a.md#same-1) [x](missing.md) [y](a.md#nowhere)\n```\n[code](gone.md)\n```\n")
    assert [broken(doc, t) is None for t in links(doc)] == [True, False, False]
