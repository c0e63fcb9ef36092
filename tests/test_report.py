"""The report: HTML tables from the Markdown ones, the front page, and the built report opened in a
real browser (headless Chromium) at 1400 px, whose screenshot is kept in tests/artifacts/ with the
verdict table's measured cells (the formatting itself: tests/test_front_page.py)."""

import base64
import html
import json
import os
import re
import shutil
import subprocess

import jinja2
import numpy as np
import pandas as pd
import pytest
import yaml

from robustcurves.config import check
from robustcurves.report import pages
from workflow_utils import ROOT, snakemake

TINY = "tests/config/tiny.yaml"
ARTIFACTS = ROOT / "tests/artifacts"
CLAIMS_MD = """| claim | regime | verdict | evidence |
|:------|:-------|:--------|:---------|
| CLEVER falls <after> the best epoch | overfit | supported | -0.61 [-0.9, -0.3], 5 folds |
| ASR of cw rises | normal | inconclusive | 0.10 [-0.2, 0.4], 5 folds |
"""
DISTANCES_MD = """mnist5k overfit: distances, mean ± std over folds

| attack | L0 (pixels) | L2 | Linf |
|:-------|------------:|---:|-----:|
| cw | 120.5 ± 3.2 | 1.2345 ± 0.0100 | 0.3000 ± 0.0000 |
"""


def test_cells_may_hold_a_pipe():
    import pandas as pd

    frame = pd.DataFrame(
        {"claim": ["a stays level", "b rises"], "evidence": ["+0.5 (level: |ρ| < 0.5)", "x"]}
    )
    caption, header, rows = pages.parse_markdown_table(frame.to_markdown(index=False))
    assert caption == "" and header == ["claim", "evidence"]
    assert rows == [["a stays level", "+0.5 (level: |ρ| < 0.5)"], ["b rises", "x"]]


def test_markdown_tables_become_html_tables():
    caption, header, rows = pages.parse_markdown_table(DISTANCES_MD)
    assert caption == "mnist5k overfit: distances, mean ± std over folds"
    assert header == ["attack", "L0 (pixels)", "L2", "Linf"] and rows[0][0] == "cw" and len(rows) == 1
    html = pages.table_html(DISTANCES_MD)
    assert "<caption>mnist5k overfit: distances, mean ± std over folds</caption>" in html
    assert '<td class="num">1.2345 ± 0.0100</td>' in html and "<td>cw</td>" in html
    claims = pages.table_html(CLAIMS_MD)
    assert "CLEVER falls &lt;after&gt; the best epoch" in claims  # escaped, not markup
    assert re.search(r'<td style="color: #1a7f37[^>]*>supported</td>', claims)
    assert claims.count("<tr>") == 3
    with pytest.raises(ValueError, match="no Markdown pipe table"):
        pages.table_html("just text")
    with pytest.raises(ValueError, match="a row has 2 cells for 4 columns"):
        pages.table_html(CLAIMS_MD + "| a | b |\n")


def test_front_page_embeds_the_figure_and_the_claims(tmp_path):
    png = tmp_path / "headline.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = pages.front_page("mine", figure=png, claims_md=CLAIMS_MD)
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in page
    assert "mine: the paper&#x27;s claims, tested on this run" in page and "inconclusive" in page
    bare = pages.front_page("mine", note="No claims table")
    assert "<img" not in bare and "<table" not in bare and "No claims table" in bare


def render_front_page(config: dict, workdir):
    """workflow/report/workflow.rst as Snakemake renders it: Jinja with the config, then docutils."""
    from docutils.core import publish_parts

    text = (ROOT / "workflow/report/workflow.rst").read_text()

    class Snakemake:
        pass

    Snakemake.config = config
    # Snakemake's own Jinja settings (snakemake/report), strict: a missing config key fails here
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    rst = env.from_string(text).render(snakemake=Snakemake, categories={}, files=[])
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        return publish_parts(rst, writer_name="html")["html_body"]
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize(
    "path",
    [
        "config.yaml",
        TINY,
        "configs/paper.yaml",
        "configs/cifar10-resnet20.yaml",
        "configs/paper-cifar10-cpu.yaml",
    ],
)
def test_front_page_states_the_study_and_settings_and_includes_each_dataset(tmp_path, path):
    config = check(yaml.safe_load((ROOT / path).read_text()), ROOT / "workflow/schemas/config.schema.yaml")
    for name in config["datasets"]:
        (tmp_path / f"results/{name}/report").mkdir(parents=True)
        (tmp_path / f"results/{name}/report/front.html").write_text(f'<p id="answer-{name}">answer</p>')
    html = render_front_page(config, tmp_path)
    assert "Robustness to adversarial examples, epoch by epoch" in html
    assert "System Message" not in html and "{{" not in html and "{%" not in html
    assert f"{config['folds']} stratified folds" in html and f"{config['epochs']} epochs" in html
    for name in config["datasets"]:
        assert f"Dataset {name}</h" in html and f'<p id="answer-{name}">answer</p>' in html
    for attack in config["attacks"]:
        assert f"<em>{attack}</em> ({config['attacks'][attack]['method']}" in html
    # the network and the optimizer are the run's own, for every dataset
    for name, dataset in config["datasets"].items():
        assert (
            f'Model <tt class="docutils literal">{dataset.get("model") or config["model"]}</tt>'
            in html.split(f"Dataset {name}</h")[1]
        )
    for regime, settings in config["regimes"].items():
        assert (
            f"<em>{regime}</em> ({settings['optimizer'].replace('adam', 'Adam').replace('sgd', 'SGD')}"
            in html
        )


def test_front_page_names_a_resnets_training_settings(tmp_path):
    config = yaml.safe_load((ROOT / TINY).read_text())
    config["model"] = "resnet20"
    config["regimes"]["overfit"] |= {"optimizer": "sgd", "weight_decay": 1e-4, "augment": True}
    config = check(config, ROOT / "workflow/schemas/config.schema.yaml")
    (tmp_path / "results/mnist5k/report").mkdir(parents=True)
    (tmp_path / "results/mnist5k/report/front.html").write_text("<p>answer</p>")
    html = render_front_page(config, tmp_path)
    assert "a network (resnet20) is trained" in html
    assert "(SGD, learning rate 0.0024, momentum 0.9, weight decay 0.0001, flips and crops)" in html


def chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run must call .ci/chromium-setup.sh")
        pytest.skip("chromium is not installed here (bash .ci/chromium-setup.sh installs it)")
    return binary


def browse(binary, url, *args, timeout=120):
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",  # let the report's JavaScript app render before the dump
        *args,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)


# The report at the width a reader's laptop gives it; a verdict-table cell may take this many lines
# (Snakemake's report sets the front page in a 512 px column at any width; DejaVu Sans, as in CI).
WIDTH, MAX_LINES = 1400, 3
# Appended to a copy of the built report: once its JavaScript app has rendered the front page, measure
# every cell of the verdict tables (rendered height, and the height of its text in lines), then click
# the link to the full claims table and record what the content pane shows. The findings go into a
# <pre> element with id rc-probe, which --dump-dom returns (chromium's dump cannot measure by itself).
PROBE = """<script>
(function () {
  var found = {tables: []}, tries = 0;
  function done() {
    var pre = document.createElement("pre");
    pre.id = "rc-probe";
    pre.textContent = JSON.stringify(found);
    document.body.appendChild(pre);
  }
  function measure() {
    document.querySelectorAll("table.rc-verdicts").forEach(function (table) {
      var box = table.getBoundingClientRect(), parent = table.parentElement.getBoundingClientRect();
      var cells = [];
      table.querySelectorAll("td").forEach(function (cell) {
        var text = document.createRange();
        text.selectNodeContents(cell);
        cells.push({text: cell.textContent, height: cell.offsetHeight,
                    text_height: text.getBoundingClientRect().height,
                    line: parseFloat(getComputedStyle(cell).lineHeight)});
      });
      found.tables.push({left: box.left, right: box.right, parent_right: parent.right,
                         viewport: window.innerWidth, cells: cells});
    });
    // the front page's column (the app centres it vertically: a window shorter than this clips its top)
    found.height = document.querySelector(".rc-front").closest(".prose").parentElement.scrollHeight;
  }
  function poll() {
    if (!document.querySelector("table.rc-verdicts")) {
      if (++tries < 100) return setTimeout(poll, 100);
      found.error = "no verdict table was rendered";
      return done();
    }
    try { measure(); } catch (e) { found.error = String(e); }
    var link = document.querySelector("a.rc-full-claims");
    if (!link) return done();
    link.click();
    setTimeout(function () {
      var frame = document.querySelector("iframe");
      found.shown = frame ? frame.getAttribute("src") : null;
      found.result = app.state.resultPath;
      done();
    }, 500);
  }
  poll();
})();
</script>"""


def probe(binary, report_html, tmp_path) -> dict:
    """What PROBE finds in `report_html` opened WIDTH pixels wide."""
    page = report_html.read_text()
    end = page.rindex("</body>")
    probed = tmp_path / "probed.html"
    probed.write_text(page[:end] + PROBE + page[end:])
    dom = browse(binary, probed.as_uri(), "--dump-dom", f"--window-size={WIDTH},3000").stdout
    found = re.search(
        r'<pre id="rc-probe">(.*?)</pre>', re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    )
    assert found, "the probe wrote nothing: did the report's app start?"
    return json.loads(html.unescape(found.group(1)))


def cell_text(cell: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split()))


NUMBER = re.compile(r"[+−-]?(?:\d+\.\d+|∞|inf)")


def numbers(text: str) -> list[float]:
    return [float(n.replace("−", "-").replace("∞", "inf")) for n in NUMBER.findall(text)]  # ±inf too


@pytest.mark.slow
def test_report_opens_on_the_answer_in_a_real_browser(tiny_run, tmp_path):
    binary = chromium()
    snakemake(tiny_run, "--report", "report.html", "--configfile", TINY)
    url = (tiny_run / "report.html").as_uri()
    dom = browse(binary, url, "--dump-dom", f"--window-size={WIDTH},2200").stdout
    found = probe(binary, tiny_run / "report.html", tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report_front_cells.json").write_text(json.dumps(found, indent=1)[:200_000])
    shot = tmp_path / "report.png"
    height = int(min(max(found.get("height", 0) + 100, 1200), 8000))  # the whole front page
    browse(binary, url, f"--screenshot={shot}", f"--window-size={WIDTH},{height}")
    shutil.copy(shot, ARTIFACTS / "report.png")
    print(f"screenshot of the report at {WIDTH} px: {ARTIFACTS / 'report.png'}")
    assert shot.stat().st_size > 50_000

    # The verdict table, as the browser lays it out: within its column, no cell taller than a few lines.
    assert "error" not in found, found.get("error")
    (table,) = found["tables"]
    assert table["right"] <= min(table["parent_right"], table["viewport"]) + 1, table
    # lines of text: the text's box is its line boxes less the half-leading above the first and below
    # the last (n lines measure n - 0.17 line heights here)
    lines = [(round(c["text_height"] / c["line"]), c["text"]) for c in table["cells"]]
    tall = [(n, text) for n, text in lines if n > MAX_LINES]
    assert not tall, f"cells over {MAX_LINES} lines at {WIDTH} px: {tall}"
    rows = [c for c in table["cells"] if c["height"] > MAX_LINES * c["line"] + 12]  # + padding, border
    assert not rows, rows
    print(f"verdict table: {len(lines)} cells, the tallest {max(n for n, _ in lines)} lines")

    # What the JavaScript app rendered (the data it starts from lies in <script> elements: cut them).
    rendered = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    assert "Robustness to adversarial examples, epoch by epoch" in rendered
    assert "2 stratified folds" in rendered and "3 epochs" in rendered
    front = rendered[rendered.index("Dataset mnist5k") :]
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/]{1000}', front)  # the headline figure
    # one row per claim of claims.csv: the claim, the verdict after Holm with its p to 2 significant
    # digits, and the effect its evidence states, rounded
    claims = pd.read_csv(tiny_run / "results/mnist5k/tables/claims.csv")
    verdicts = front[front.index('<table class="rc-table rc-verdicts">') : front.index("</table>")]
    head = [cell_text(c) for c in re.findall(r"<th>(.*?)</th>", verdicts)]
    assert head == ["claim", "verdict after Holm", "effect [one-sided 95% bounds]"]
    rows = [
        re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in re.findall(r"<tr>(.*?)</tr>", verdicts, re.S)
    ]
    # a heading row per family, in the table's order (primary, exploratory, checks)
    families = [
        cell_text(h) for h in re.findall(r'<tr class="rc-family"><th colspan="3">(.*?)</th>', verdicts)
    ]
    assert [f.split(":")[0].split(" ")[0] for f in families] == ["Primary", "Exploratory", "Checks"]
    assert len(rows) - 1 == len(claims)  # the header row
    for (claim, verdict, effect), expected in zip(rows[1:], claims.itertuples(), strict=True):
        assert cell_text(claim) == expected.claim
        verdict, effect = cell_text(verdict), cell_text(effect)
        assert verdict.startswith(expected.verdict_holm), (verdict, expected)
        assert ("raw: " + expected.verdict in verdict) == (expected.verdict != expected.verdict_holm)
        p = re.search(r"\bp (\S+)", verdict)
        if np.isfinite(expected.p_holm):  # 2 significant digits of the Holm p: 9.4e-05, 0.042, 1.0
            assert p and f"{float(p.group(1)):#.2g}" == p.group(1), verdict
            assert np.isclose(float(p.group(1)), expected.p_holm, rtol=0.051), (verdict, expected)
            assert re.search(r"\[\S+, \S+\]", effect), (effect, expected.evidence)  # its interval
        else:
            assert p is None, verdict
        evidence = numbers(expected.evidence)
        assert all(np.isclose(evidence, v, atol=0.0051).any() for v in numbers(effect)), (effect, expected)

    # The full claims table is under Results, one click from the front page: the link shows it.
    assert found["result"] == "results/mnist5k/tables/claims.html"
    shown = found["shown"]
    assert shown.startswith("data:text/html") and ";base64," in shown
    full_table = tiny_run / "results/mnist5k/tables/claims.html"
    assert base64.b64decode(shown.split(";base64,", 1)[1]) == full_table.read_bytes()
    full = full_table.read_text()
    cells = [
        [html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", full, flags=re.S)
    ]
    assert cells[0] == list(claims.columns)
    expected = claims.astype(str).to_numpy().tolist()
    assert len(cells) - 1 == len(expected)
    for shown_row, row in zip(cells[1:], expected, strict=True):
        assert len(shown_row) == len(row) and all(map(same_cell, shown_row, row)), (shown_row, row)
    # the navigation the app builds: the Results menu, from which every figure is reachable
    assert "Results" in rendered and "mnist5k" in rendered
    for figure in ("headline", "training_curves", "accuracy_asr", "clever", "sensitivity_robustness"):
        assert f"{figure}.png" in dom
    for table_name in ("claims.html", "distances_normal.html", "distances_overfit.html"):
        assert table_name in dom


@pytest.mark.slow
def test_long_jobs_log_progress_with_an_eta(tiny_run):
    for log in [
        *sorted((tiny_run / "logs/train").rglob("*.log")),
        *sorted((tiny_run / "logs/robustness").rglob("*.log")),
        *sorted((tiny_run / "logs/craft").rglob("cw.log")),
    ]:
        lines = [line for line in log.read_text().splitlines() if "ETA" in line]
        assert lines, log
        assert re.search(r"(\d+)/\1 \w+ \(100%\) in \d+:\d\d:\d\d, .*, ETA 0:00:00$", lines[-1]), lines[-1]


def same_cell(shown: str, value: str) -> bool:
    """A table cell as the page shows it: numbers as Markdown writes them (0.0 → 0, 6 significant
    digits), text verbatim."""
    try:
        return bool(np.isclose(float(shown), float(value), rtol=1e-5, equal_nan=True))
    except ValueError:
        return shown == value
