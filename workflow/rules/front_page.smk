# The report's front page (workflow/report/workflow.rst): the study, its settings, each dataset's answer.


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
