# The paper's figures, each its own target (robustcurves/report/figure.py).


rule figure:
    input:
        unpack(figure_inputs),
    output:
        report(
            expand(
                "results/{{dataset}}/figures/{{figure}}.{ext}", ext=figure_formats()
            ),
            caption="../report/figure.rst",
            category="{dataset}",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "logs/figure/{dataset}/{figure}.log",
    benchmark:
        "logs/benchmarks/figure/{dataset}/{figure}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        regimes=REGIMES,
        style=figure_style,
        attack=cw_attack(),
    script:
        "../scripts/figure.py"
