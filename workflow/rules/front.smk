# The report's front page (workflow/report/workflow.rst) and the tables as HTML inside the report.


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
        # the full claims table (rule html_table) the front page's verdict table links to
        full_table=lambda wc: f"results/{wc.dataset}/tables/claims.html",
    script:
        "../scripts/front_page.py"
