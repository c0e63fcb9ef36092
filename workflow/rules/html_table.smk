# The tables as HTML inside the report (the front page's verdict table links the claims').


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
