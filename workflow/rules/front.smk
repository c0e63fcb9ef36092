# The report's front page (workflow/report/workflow.rst) and the tables as HTML inside the report.


def front_inputs(wildcards):
    """The headline figure (png, else svg) and, when the claims are drawn, their table."""
    inputs = {}
    image = [ext for ext in ("png", "svg") if ext in figure_formats()]
    if image:
        inputs["figure"] = f"results/{wildcards.dataset}/figures/headline.{image[0]}"
    if CLAIMS:
        inputs["claims"] = f"results/{wildcards.dataset}/tables/claims.md"
    return inputs


def front_note():
    notes = []
    if not CLAIMS:
        notes.append(
            f"No claims table: statistics.normal ({STATISTICS['normal']}) and statistics.overfit "
            f"({STATISTICS['overfit']}) must both name regimes of this run ({', '.join(REGIMES)})."
        )
    if "png" not in figure_formats() and "svg" not in figure_formats():
        notes.append("No headline figure here: figures.format has neither png nor svg.")
    return " ".join(notes)


def report_outputs():
    tables = [f"distances_{regime}" for regime in REGIMES] + (
        ["claims"] if CLAIMS else []
    )
    return expand(
        "results/{dataset}/tables/{table}.html", dataset=DATASETS, table=tables
    ) + expand("results/{dataset}/report/front.html", dataset=DATASETS)


rule html_table:
    input:
        "results/{dataset}/tables/{table}.md",
    output:
        report(
            "results/{dataset}/tables/{table}.html",
            caption="../report/html_table.rst",
            category="{dataset}",
            subcategory="tables",
            labels={"table": "{table}"},
        ),
    log:
        "logs/html_table/{dataset}/{table}.log",
    benchmark:
        "logs/benchmarks/html_table/{dataset}/{table}.tsv"
    wildcard_constraints:
        table="claims|distances_[A-Za-z0-9_-]+",
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/html_table.py"


rule front_page:
    input:
        unpack(front_inputs),
    output:
        "results/{dataset}/report/front.html",
    log:
        "logs/front_page/{dataset}.log",
    benchmark:
        "logs/benchmarks/front_page/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        note=front_note(),
    script:
        "../scripts/front_page.py"
