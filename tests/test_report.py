"""The report: HTML tables from the Markdown ones, the front page, and the built report opened in a
real browser (headless Chromium), whose screenshot is kept in tests/artifacts/."""

import html
import os
import re
import shutil
import subprocess

import jinja2
import numpy as np
import pandas as pd
import pytest
import yaml

from robustcurves import report
from robustcurves.config import check
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
    caption, header, rows = report.parse_markdown_table(frame.to_markdown(index=False))
    assert caption == "" and header == ["claim", "evidence"]
    assert rows == [["a stays level", "+0.5 (level: |ρ| < 0.5)"], ["b rises", "x"]]


def test_markdown_tables_become_html_tables():
    caption, header, rows = report.parse_markdown_table(DISTANCES_MD)
    assert caption == "mnist5k overfit: distances, mean ± std over folds"
    assert header == ["attack", "L0 (pixels)", "L2", "Linf"] and rows[0][0] == "cw" and len(rows) == 1
    html = report.table_html(DISTANCES_MD)
    assert "<caption>mnist5k overfit: distances, mean ± std over folds</caption>" in html
    assert '<td class="num">1.2345 ± 0.0100</td>' in html and "<td>cw</td>" in html
    claims = report.table_html(CLAIMS_MD)
    assert "CLEVER falls &lt;after&gt; the best epoch" in claims  # escaped, not markup
    assert re.search(r'<td style="color: #1a7f37[^>]*>supported</td>', claims)
    assert claims.count("<tr>") == 3
    with pytest.raises(ValueError, match="no Markdown pipe table"):
        report.table_html("just text")
    with pytest.raises(ValueError, match="a row has 2 cells for 4 columns"):
        report.table_html(CLAIMS_MD + "| a | b |\n")


def test_front_page_embeds_the_figure_and_the_claims(tmp_path):
    png = tmp_path / "headline.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = report.front_page("mine", figure=png, claims_md=CLAIMS_MD)
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in page
    assert "mine: the paper&#x27;s claims, tested on this run" in page and "inconclusive" in page
    bare = report.front_page("mine", note="No claims table")
    assert "<img" not in bare and "<table" not in bare and "No claims table" in bare


def render_front_page(config: dict, workdir):
    """workflow/report/workflow.rst as Snakemake renders it: Jinja with the config, then docutils."""
    from docutils.core import publish_parts

    text = (ROOT / "workflow/report/workflow.rst").read_text()

    class Snakemake:
        pass

    Snakemake.config = config
    rst = jinja2.Environment().from_string(text).render(snakemake=Snakemake, categories={}, files=[])
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        return publish_parts(rst, writer_name="html")["html_body"]
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("path", ["config.yaml", TINY, "configs/paper.yaml"])
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


@pytest.mark.slow
def test_report_opens_on_the_answer_in_a_real_browser(tiny_run, tmp_path):
    binary = chromium()
    snakemake(tiny_run, "--report", "report.html", "--configfile", TINY)
    url = (tiny_run / "report.html").as_uri()
    dom = browse(binary, url, "--dump-dom").stdout
    shot = tmp_path / "report.png"
    browse(binary, url, f"--screenshot={shot}", "--window-size=1500,2200")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")
    print(f"screenshot of the report: {ARTIFACTS / 'report.png'}")
    assert shot.stat().st_size > 50_000

    # What the JavaScript app rendered (the data it starts from lies in <script> elements: cut them).
    rendered = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    assert "Robustness to adversarial examples, epoch by epoch" in rendered
    assert "2 stratified folds" in rendered and "3 epochs" in rendered
    front = rendered[rendered.index("Dataset mnist5k") :]
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/]{1000}', front)  # the headline figure
    claims = pd.read_csv(tiny_run / "results/mnist5k/tables/claims.csv")
    table = front[front.index('<table class="rc-table">') : front.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    cells = [[html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]
    assert cells[0] == list(claims.columns)
    expected = claims.astype(str).to_numpy().tolist()
    assert len(cells) - 1 == len(expected)
    for shown, row in zip(cells[1:], expected, strict=True):
        assert len(shown) == len(row) and all(map(same_cell, shown, row)), (shown, row)
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
