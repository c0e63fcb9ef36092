"""The report's front page answers at a glance: per claim its verdict after Holm, the adjusted p to 2
significant digits and the effect with its interval, rounded; the full claims table one click away
(issue 21). Fast: no workflow run; one test lays the table out in headless Chromium (tests/test_report.py
opens the built report)."""

import html
import json
import math
import re

import pandas as pd
import pytest

from robustcurves.report import pages

INF = math.inf
RHO = (
    "Spearman ρ with the epoch after epoch 3, mean [lower, upper: one-sided 95% bounds, exact sign-flip "
    "test over folds]: "
)
IMAGES = (
    "ASR per attacked test image, overfit − normal (fooled 1, else 0) at matched epochs after 3, averaged "
    "over the image's epochs; image-level paired test with the fold as a random effect, estimate [lower, "
    "upper: one-sided 95% bounds]: "
)
# Evidence as the statistics rule writes it (the default run's claims.csv), one row per kind of claim.
CLAIMS = pd.DataFrame(
    [
        (
            "In the normal regime, cw ASR rises as test accuracy rises",
            "supported",
            "inconclusive",
            0.03125,
            0.375,
            RHO + "test accuracy +0.999 [+0.997, +1.000], 5 folds; cw ASR +0.832 [+0.632, +0.956], 5 folds",
        ),
        (
            "In the normal regime, cw ASR on correctly classified originals rises as test accuracy rises",
            "saturated",
            "saturated",
            math.nan,
            math.nan,
            RHO + "test accuracy +1.000 [-1.000, +1.000], 2 folds; cw ASR on correctly classified "
            "originals constant in all 2 folds (≡ 0)",
        ),
        (
            "In the overfit regime, cw ASR stays level",
            "inconclusive",
            "inconclusive",
            0.5625,
            1.0,
            RHO + "+0.533 [-0.523, +0.915], 5 folds (level: both bounds within ±0.5; refuted: both outside)",
        ),
        (
            "CLEVER is higher when overfitting",
            "supported",
            "supported",
            9.43936e-06,
            9.43936e-05,
            IMAGES + "+0.504 [+0.368, +0.641], 50 images in 5 folds (10–10 per fold); random intercept "
            "per fold: between-fold SD 0.029, image SD 0.443, t with 4 df",
        ),
        (
            "pgd ASR is lower when overfitting (more robust)",
            "inconclusive",
            "inconclusive",
            0.0423748,
            0.0423748,
            IMAGES + "+0.000 [-inf, +inf], 27 images in 2 folds (11–16 per fold); no spread among the "
            "images within any fold: exact sign-flip test over the fold means",
        ),
        (
            "cw's L2 is far smaller (< half) than that of the Linf attacks",
            "supported",
            "supported",
            math.nan,
            math.nan,
            "mean L2: cw 2.773, 3.179; fgsm/pgd 6.946, 6.744, 6.652, 6.358",
        ),
    ],
    columns=["claim", "verdict", "verdict_holm", "p_value", "p_holm", "evidence"],
).assign(excluded="snapshots: none")
FULL = "results/mine/tables/claims.html"


@pytest.mark.parametrize(
    "p, shown",
    [
        (9.43936e-05, "9.4e-05"),
        (0.0423748, "0.042"),
        (0.007116875323031115, "0.0071"),
        (0.000699, "0.00070"),
        (0.5, "0.50"),
        (1.0, "1.0"),
        ("0.0423748", "0.042"),  # as parsed from the Markdown table
        (math.nan, "–"),
        ("nan", "–"),
        ("", "–"),
    ],
)
def test_p_values_print_to_two_significant_digits(p, shown):
    assert pages.format_p(p) == shown


@pytest.mark.parametrize(
    "values, shown",
    [
        ((-0.176, -0.266, -0.086), "−0.18 [−0.27, −0.09]"),
        ((0.566, 0.307, 1.011), "+0.57 [+0.31, +1.01]"),
        ((-0.001, -0.006, 0.004), "−0.001 [−0.006, +0.004]"),  # a narrow interval keeps 3 decimals
        ((0.999, 0.997, 1.0), "+0.999 [+0.997, +1.000]"),  # never more than the evidence's 3
        ((0.533, -0.523, 0.915), "+0.53 [−0.52, +0.92]"),  # −0.523 not rounded onto the ±0.5 band
        ((0.916, -0.272, 2.105), "+0.92 [−0.27, +2.10]"),  # a wide interval: still 2 decimals
        ((0.024, -INF, INF), "+0.024 [−∞, +∞]"),  # open: 2 significant digits of the estimate
        ((0.0, -INF, INF), "+0.000 [−∞, +∞]"),
        ((-1.0, -1.0, 1.0), "−1.00 [−1.00, +1.00]"),
    ],
)
def test_effects_print_with_their_interval_rounded(values, shown):
    assert pages.format_effect(*values) == shown


def test_the_effect_is_read_from_the_evidence():
    rising, saturated, level, clever, open_, distance = (pages.claim_effect(e) for e in CLAIMS["evidence"])
    assert rising == ("ρ", (0.832, 0.632, 0.956), "+0.832 [+0.632, +0.956]")  # the ASR's, not accuracy's
    assert saturated == ("", None, "constant in all 2 folds (≡ 0)")  # not test accuracy's interval
    assert level[:2] == ("ρ", (0.533, -0.523, 0.915))
    assert clever[:2] == ("Δ", (0.504, 0.368, 0.641))
    assert open_[:2] == ("Δ", (0.0, -INF, INF))
    assert distance == ("", None, "mean L2: cw 2.773, 3.179; fgsm/pgd 6.946, 6.744, 6.652, 6.358")
    assert pages.claim_effect(IMAGES + "no image pairs") == ("", None, "no image pairs")
    kind, values, text = pages.claim_effect("x " * 80)
    assert values is None and len(text) == 90 and text.endswith("…")


def rows_of(page: str) -> list[list[str]]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [
        [
            re.sub(r"[|\s]*(<[^>]+>[|\s]*)+", "|", cell).strip("|")
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def test_the_verdict_table_shows_claim_verdict_after_holm_p_and_effect():
    page = pages.front_page("mine", claims_md=CLAIMS.to_markdown(index=False), full_table=FULL)
    assert "<caption>mine: the paper&#x27;s claims, tested on this run</caption>" in page
    assert "<th>claim</th><th>verdict after Holm</th><th>effect [one-sided 95% bounds]</th>" in page
    assert rows_of(page) == [
        [
            "In the normal regime, cw ASR rises as test accuracy rises",
            "inconclusive|p 0.38|raw: supported",
            "ρ +0.83|[+0.63, +0.96]",
        ],
        [
            "In the normal regime, cw ASR on correctly classified originals rises as test accuracy rises",
            "saturated",
            "constant in all 2 folds (≡&nbsp;0)",
        ],
        ["In the overfit regime, cw ASR stays level", "inconclusive|p 1.0", "ρ +0.53|[−0.52, +0.92]"],
        ["CLEVER is higher when overfitting", "supported|p 9.4e-05", "Δ +0.50|[+0.37, +0.64]"],
        ["pgd ASR is lower when overfitting (more robust)", "inconclusive|p 0.042", "Δ +0.000|[−∞, +∞]"],
        [
            "cw&#x27;s L2 is far smaller (&lt; half) than that of the Linf attacks",
            "supported",
            "mean L2: cw 2.773, 3.179; fgsm/pgd 6.946, 6.744, 6.652, 6.358",
        ],
    ]
    assert "9.43936e-05" not in page and "snapshots: none" not in page  # raw p and exclusions: full table
    assert 'style="color: #1a7f37; font-weight: 600">supported' in page
    assert "Δ: overfit − normal" in page and "ρ: Spearman" in page
    # the full table, shown in the report's content pane by one click
    link = re.search(r'<a class="rc-full-claims" href="([^"]+)">claims.html</a>', page)
    assert link and "Results › mine › tables" in page
    assert link.group(1).startswith("javascript:app.setView(") and f"&quot;{FULL}&quot;" in link.group(1)


def test_a_claims_table_without_holm_columns_still_reads():
    old = CLAIMS[["claim", "verdict", "p_value", "evidence"]].to_markdown(index=False)
    page = pages.front_page("mine", claims_md=old)
    assert "<th>verdict</th>" in page and "raw:" not in page and "rc-full-claims" not in page
    assert rows_of(page)[3] == [
        "CLEVER is higher when overfitting",
        "supported|p 9.4e-06",
        "Δ +0.50|[+0.37, +0.64]",
    ]


# The report's front-page column: Snakemake's report sets it in a 32rem (512 px) wide "prose" block
# whatever the window's width; tests/test_report.py measures the table there, in the built report.
COLUMN = """<html><body style="font: 14px/1.7 system-ui, sans-serif; margin: 12px">
<div style="max-width: 32rem">{page}</div>
<script>
var lines = [];
document.querySelectorAll("table.rc-verdicts td").forEach(function (cell) {{
  var text = document.createRange();
  text.selectNodeContents(cell);
  lines.push([Math.round(text.getBoundingClientRect().height / parseFloat(getComputedStyle(cell).lineHeight)),
              cell.textContent]);
}});
var table = document.querySelector("table.rc-verdicts").getBoundingClientRect();
var out = document.createElement("pre");
out.id = "lines";
out.textContent = JSON.stringify({{lines: lines, width: table.width}});
document.body.appendChild(out);
</script></body></html>"""


def test_in_the_report_column_no_cell_is_taller_than_a_few_lines(tmp_path):
    """Claims as the statistics rule writes them (3-decimal intervals, raw verdicts beside Holm's) in
    the report's column, laid out by headless Chromium."""
    from test_report import MAX_LINES, browse, chromium

    page = tmp_path / "front.html"
    claims = CLAIMS.to_markdown(index=False)
    page.write_text(COLUMN.format(page=pages.front_page("mine", claims_md=claims, full_table=FULL)))
    dom = browse(chromium(), page.as_uri(), "--dump-dom", "--window-size=1400,1200").stdout
    dom = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    found = json.loads(html.unescape(re.search(r'<pre id="lines">(.*?)</pre>', dom, re.S).group(1)))
    assert found["width"] <= 512 and len(found["lines"]) == 3 * len(CLAIMS)
    assert max(n for n, _ in found["lines"]) <= MAX_LINES, found["lines"]
