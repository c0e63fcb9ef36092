# Official archives of CIFAR-10 and STL-10, checksummed before anything reads them (robustcurves/stages/download.py).
# URL and checksum: the dataset's `url:`/`sha256:`, else download.DEFAULTS (archive_source, common.smk).
# A dataset with `archive:` (a copy on disk) never downloads: prepare reads that file instead.

DOWNLOADS = [
    name
    for name, ds in config["datasets"].items()
    if ds["kind"] in ("cifar10", "stl10") and "archive" not in ds
]


# Cluster compute nodes often have no internet: fetch on the submitting host.
localrules:
    download,


rule download:
    output:
        "resources/archives/{dataset}.tar.gz",
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "logs/benchmarks/download/{dataset}.tsv"
    wildcard_constraints:
        # only datasets that need it; "(?!)" matches nothing when none does
        dataset="|".join(DOWNLOADS) or "(?!)",
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=180,
    params:
        url=lambda wildcards: archive_source(wildcards)["url"],
        sha256=lambda wildcards: archive_source(wildcards)["sha256"],
    script:
        "../scripts/download.py"
