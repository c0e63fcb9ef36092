"""HTML for the Snakemake report: tables rendered from their Markdown versions, and each dataset's
front-page section (the headline figure and the claims), embedded by workflow/report/workflow.rst."""

from __future__ import annotations

import base64
import html
from pathlib import Path

VERDICTS = {"supported": "#1a7f37", "not supported": "#b42318", "inconclusive": "#8a6d00"}
STYLE = """<style>
.rc-table { border-collapse: collapse; font: 13px/1.4 system-ui, sans-serif; margin: 0.5em 0 1.5em; }
.rc-table caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4em; }
.rc-table th, .rc-table td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
.rc-table th { background: #f6f8fa; text-align: left; }
.rc-table td.num { text-align: right; white-space: nowrap; }
.rc-table tr:nth-child(even) td { background: #fbfbfc; }
</style>"""


def parse_markdown_table(text: str) -> tuple[str, list[str], list[list[str]]]:
    """(caption, header, rows) of a Markdown pipe table (pandas' `to_markdown`), with any text
    before it as the caption.

    Cells may hold a `|` (text from a user's table), which the pipe format does not escape: tabulate
    pads every column to one width, so the columns are cut where the separator line has its `|`.
    """
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    if start is None or start + 1 >= len(lines) or set(lines[start + 1]) - set("|:- "):
        raise ValueError("no Markdown pipe table found")
    caption = " ".join(line.strip() for line in lines[:start] if line.strip())
    bounds = [i for i, ch in enumerate(lines[start + 1]) if ch == "|"]

    def cells(line):
        if len(line) == len(lines[start + 1]) and all(line[b] == "|" for b in bounds):
            return [line[a + 1 : b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
        return [c.strip() for c in line.strip().strip("|").split("|")]

    header = cells(lines[start])
    rows = [cells(line) for line in lines[start + 2 :] if line.strip().startswith("|")]
    bad = [r for r in rows if len(r) != len(header)]
    if bad:
        raise ValueError(f"a row has {len(bad[0])} cells for {len(header)} columns: {bad[0]}")
    return caption, header, rows


def table_html(markdown: str, caption: str | None = None) -> str:
    """An HTML table (a fragment with its own style) from a Markdown pipe table."""
    found, header, rows = parse_markdown_table(markdown)
    caption = found if caption is None else caption
    out = [STYLE, '<table class="rc-table">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    if text in VERDICTS:
        return f'<td style="color: {VERDICTS[text]}; font-weight: 600">{html.escape(text)}</td>'
    numeric = text.replace("±", "").replace(" ", "").replace(".", "").replace("-", "").isdigit()
    return f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"


def image_data_uri(path) -> str:
    path = Path(path)
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def front_page(dataset: str, figure=None, claims_md: str | None = None, note: str = "") -> str:
    """A dataset's section of the report's front page: its headline figure and its claims table."""
    out = [f'<section class="rc-front" id="front-{html.escape(dataset)}">']
    if figure is not None:
        out.append(
            f'<figure><img src="{image_data_uri(figure)}" alt="{html.escape(dataset)} headline figure" '
            'style="max-width: 100%"><figcaption>Accuracy and attack success rate over training '
            f"({html.escape(dataset)}; figure <code>headline</code>)</figcaption></figure>"
        )
    if claims_md is not None:
        out.append(table_html(claims_md, caption=f"{dataset}: the paper's claims, tested on this run"))
    if note:
        out.append(f"<p>{html.escape(note)}</p>")
    out.append("</section>")
    return "\n".join(out) + "\n"
