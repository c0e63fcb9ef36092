"""HTML for the Snakemake report: tables rendered from their Markdown versions, and each dataset's
front-page section (the headline figure and a compact verdict table of the claims, linking to the full
claims table under Results), embedded by workflow/report/workflow.rst."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path

VERDICTS = {
    "supported": "#1a7f37",
    "not supported": "#b42318",
    "inconclusive": "#8a6d00",
    "saturated": "#57606a",
}
STYLE = """<style>
.rc-table { border-collapse: collapse; font: 13px/1.4 system-ui, sans-serif; margin: 0.5em 0 1.5em; }
.rc-table caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4em; }
.rc-table th, .rc-table td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
.rc-table th { background: #f6f8fa; text-align: left; }
.rc-table td.num { text-align: right; white-space: nowrap; }
.rc-table tr:nth-child(even) td { background: #fbfbfc; }
.rc-verdicts { width: 100%; font-size: 12px; }
.rc-verdicts td:first-child { width: 44%; }
.rc-verdicts td.rc-verdict { white-space: nowrap; }
.rc-verdicts .rc-effect { font-variant-numeric: tabular-nums; }
.rc-verdicts .rc-effect span { white-space: nowrap; }
.rc-verdicts .rc-sub { display: block; color: #57606a; font-size: 11px; font-weight: 400; }
.rc-verdicts tr.rc-family th { text-align: left; font-weight: 600; background: #eef1f4; }
.rc-front p.rc-key { font-size: 12px; color: #57606a; margin-top: -1em; }
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


# The effect a claim's evidence states: an estimate with its interval ("+0.105 [-0.171, +0.419]", bounds
# may be ±inf), or a series constant in every fold.
_NUMBER = r"[+-]?(?:\d+(?:\.\d+)?|inf|nan)"
_INTERVAL = re.compile(rf"({_NUMBER}) \[({_NUMBER}), ({_NUMBER})\]")
_CONSTANT = re.compile(r"constant in all \d+ folds \(≡ [^)]*\)")
MINUS = "\u2212"
# the claims' families as the verdict table heads them (docs/statistics.md)
FAMILIES = {
    "primary": "Primary: the paper's central claim, the overfitting regime more robust",
    "secondary": "Exploratory",
    "check": "Checks (deterministic)",
}


def format_p(p) -> str:
    """A p-value to 2 significant digits: 9.4e-05, 0.0071, 0.042, 0.50, 1.0; '–' when there is none
    (NaN or empty: a deterministic check, or no test)."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return "–"
    return f"{p:#.2g}" if math.isfinite(p) else "–"


def format_effect(
    estimate: float, low: float, high: float, digits: int = 2, min_places: int = 2, max_places: int = 3
) -> str:
    """'+0.57 [+0.31, +1.01]': an estimate and its interval, signed (a true minus sign), all three to
    the decimals that keep `digits` significant digits of the interval's width (of the largest finite
    value when the interval is open or empty), within [`min_places`, `max_places`]: at least 2 so a
    bound beside a threshold (ρ's ±0.5 band) is not rounded onto it, at most 3, the evidence's own
    precision. Infinite bounds as ±∞."""
    finite = [abs(v) for v in (estimate, low, high) if math.isfinite(v) and v != 0]
    if math.isfinite(low) and math.isfinite(high) and high > low:
        scale = high - low
    else:
        scale = max(finite, default=0.0)
    places = max_places if scale == 0 else digits - 1 - math.floor(math.log10(scale))
    places = min(max(places, min_places), max_places)

    def signed(x: float) -> str:
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return ("+" if x > 0 else MINUS) + "∞"
        return f"{x:+.{places}f}".replace("-", MINUS)

    return f"{signed(estimate)} [{signed(low)}, {signed(high)}]"


def claim_effect(evidence: str) -> tuple[str, tuple[float, float, float] | None, str]:
    """(kind, (estimate, low, high), text) of a claims-table evidence cell.

    The evidence opens on how the effect was measured, up to the bounds' description ("…]: "), then
    the effect; where it gives two trends ("test accuracy …; cw ASR …") the claim's own is the last.
    kind: "ρ" for a trend (Spearman's ρ with the epoch), "Δ" for a difference between regimes, "" else.
    Without an interval, `text` is what the evidence says instead (a constant series, a deterministic
    check's numbers, "no image pairs").
    """
    head, sep, body = evidence.partition("]: ")
    if not sep:
        head, body = "", evidence
    kind = "ρ" if head.startswith("Spearman ρ") else "Δ" if " − " in head else ""
    found = None
    for segment in body.split("; "):
        found = _INTERVAL.search(segment) or _CONSTANT.search(segment) or found
    if found is not None and found.re is _INTERVAL:
        return kind, tuple(float(v) for v in found.groups()), found.group(0)
    text = found.group(0) if found is not None else body.strip()
    return "", None, text if len(text) <= 90 else text[:89].rstrip() + "…"


def _result_link(path: str, text: str) -> str:
    """A link that shows the report's result `path` (an HTML file) in the report's content pane, as
    its eye button does, with the result's details beside it."""
    key = json.dumps(path)
    js = (
        f"javascript:app.setView({{navbarMode: 'resultinfo', content: 'html', resultPath: {key}, "
        f"contentPath: results[{key}].data_uri}})"
    )
    return f'<a class="rc-full-claims" href="{html.escape(js)}">{html.escape(text)}</a>'


def verdict_table(claims_md: str, dataset: str, full_table: str | None = None) -> str:
    """The front page's answer: per claim its verdict after Holm (with the adjusted p, and the raw
    verdict where Holm changed it) and the effect with its interval, read from the claims table
    (results/<dataset>/tables/claims.md); then a key and, given its report path, a link to the full
    table."""
    _, header, rows = parse_markdown_table(claims_md)
    col = {name: i for i, name in enumerate(header)}
    holm = "verdict_holm" in col
    verdict, raw = ("verdict_holm", "verdict") if holm else ("verdict", None)
    p_name = "p_holm" if holm and "p_holm" in col else "p_value" if "p_value" in col else None
    effects = [claim_effect(r[col["evidence"]]) if "evidence" in col else ("", None, "") for r in rows]
    bounds = re.search(r"one-sided (\d+ ?%) bounds", claims_md)
    effect_head = "effect" + (f" [one-sided {bounds.group(1)} bounds]" if bounds else "")

    out = [STYLE, '<table class="rc-table rc-verdicts">']
    out.append(f"<caption>{html.escape(dataset)}: the paper&#x27;s claims, tested on this run</caption>")
    out.append(
        f"<thead><tr><th>claim</th><th>verdict{' after Holm' if holm else ''}</th>"
        f"<th>{html.escape(effect_head)}</th></tr></thead><tbody>"
    )
    family = None
    for row, (kind, values, text) in zip(rows, effects, strict=True):
        shown = row[col[verdict]]
        cell = html.escape(shown)
        if p_name is not None and format_p(row[col[p_name]]) != "–":
            cell += f'<span class="rc-sub">p {format_p(row[col[p_name]])}</span>'
        if raw is not None and row[col[raw]] != shown:
            cell += f'<span class="rc-sub">raw: {html.escape(row[col[raw]])}</span>'
        color = VERDICTS.get(shown, "inherit")
        if values is not None:  # may break before the interval, never inside a number or the interval
            estimate, interval = format_effect(*values).split(" ", 1)
            effect = (
                f'<span class="rc-effect"><span>{kind + " " if kind else ""}{estimate}</span> '
                f"<span>{interval}</span></span>"
            )
        else:  # "(≡ 0)" kept on one line
            effect = html.escape(text).replace("≡ ", "≡&nbsp;")
        if "family" in col and row[col["family"]] != family:  # a heading row per family, in table order
            family = row[col["family"]]
            out.append(
                f'<tr class="rc-family"><th colspan="3">{html.escape(FAMILIES.get(family, family))}</th></tr>'
            )
        out.append(
            f"<tr><td>{html.escape(row[col['claim']])}</td>"
            f'<td class="rc-verdict" style="color: {color}; font-weight: 600">{cell}</td>'
            f"<td>{effect}</td></tr>"
        )
    out.append("</tbody></table>")
    key = _verdict_key(claims_md, dataset, holm, p_name, effects, full_table)
    out.append(f'<p class="rc-key">{key}</p>')
    return "\n".join(out) + "\n"


def _verdict_key(claims_md, dataset, holm, p_name, effects, full_table) -> str:
    """The verdict table's key: the full table's link, then what p, raw, ρ and Δ mean (those shown)."""
    text = ""
    if full_table:
        link = _result_link(full_table, Path(full_table).name)
        text = (
            f"Full table: {link} (Results › {html.escape(dataset)} › tables), with the raw p-values, "
            "the evidence (unit, n) and what was excluded. "
        )
    key = []
    if holm and "| family" in claims_md:
        key.append(
            "Verdicts after Holm&#x27;s adjustment within each family: primary (the paper&#x27;s central "
            "claim, fixed beforehand), exploratory (the others); checks have no test"
        )
    elif holm:
        key.append("Verdicts after Holm&#x27;s adjustment over the claims with a p-value")
    if p_name is not None:
        key.append(f"p: {'Holm-adjusted, ' if p_name == 'p_holm' else ''}where a test decides")
    if holm:
        key.append("raw: the verdict before Holm, where it differs")
    kinds = {kind for kind, values, _ in effects if values is not None}
    if "ρ" in kinds:
        key.append("ρ: Spearman&#x27;s ρ of the claim&#x27;s two series over the epochs, mean over folds")
    pair = re.search(r"(\S+) − (\S+)", claims_md)
    if "Δ" in kinds and pair:
        key.append(f"Δ: {html.escape(pair.group(1))} − {html.escape(pair.group(2))}, mean")
    return text + ("; ".join(key) + "." if key else "")


def front_page(
    dataset: str, figure=None, claims_md: str | None = None, note: str = "", full_table: str | None = None
) -> str:
    """A dataset's section of the report's front page: its headline figure and the verdict table of its
    claims (`verdict_table`), which links to the full claims table at the report path `full_table`."""
    out = [f'<section class="rc-front" id="front-{html.escape(dataset)}">']
    if figure is not None:
        out.append(
            f'<figure><img src="{image_data_uri(figure)}" alt="{html.escape(dataset)} headline figure" '
            'style="max-width: 100%"><figcaption>Accuracy and attack success rate over training '
            f"({html.escape(dataset)}; figure <code>headline</code>)</figcaption></figure>"
        )
    if claims_md is not None:
        out.append(verdict_table(claims_md, dataset, full_table))
    if note:
        out.append(f"<p>{html.escape(note)}</p>")
    out.append("</section>")
    return "\n".join(out) + "\n"
