# Names, paths and parameter look-ups shared by the rules.

import itertools

from robustcurves import job, registry, user_model

DATASETS = list(config["datasets"])
REGIMES = list(config["regimes"])
# sorted: a reordered config.yaml is the same study and must rerun nothing
ATTACKS = sorted(config["attacks"])
FOLDS = list(range(config["folds"]))
# figure and summary names, and the summaries each figure reads: one registry (robustcurves/registry.py)
FIGURES = list(registry.FIGURES)
SUMMARIES = list(registry.SUMMARIES)
# config is validated with the schema's defaults filled in (robustcurves/config.py): no defaults here
STATISTICS = config["statistics"]
# The claims compare two regimes; they are drawn when both named regimes exist.
CLAIMS = STATISTICS["normal"] in REGIMES and STATISTICS["overfit"] in REGIMES
FOLD_DIR = "results/{dataset}/{regime}/fold{fold}"
COMPUTE = config["compute"]
# the conda envs (--use-conda) of the Keras jobs (by backend and GPU: docs/gpu.md) and of the others
TF_ENV = job.conda_env(COMPUTE)
ANALYSIS_ENV = job.ANALYSIS_ENV
WHITEBOX = config["whitebox"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    regime="|".join(REGIMES),
    attack="|".join(ATTACKS),
    fold=r"\d+",
    figure="|".join(FIGURES),
    summary="|".join(SUMMARIES),


def canonical(value):
    """Dicts with sorted keys, recursively: params that differ only in key order are the same
    params, so reordering config.yaml reruns nothing."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    return value


def attack_params(wildcards):
    return canonical(config["attacks"][wildcards.attack])


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def regime_settings(wildcards):
    """The regime's training settings (learning rate, optimizer...), with the dataset's overrides."""
    override = dataset_config(wildcards)["regimes"].get(wildcards.regime, {})
    return canonical({**config["regimes"][wildcards.regime], **override})


def model_params(wildcards):
    """The dataset's model, and for a user's own the digest of its source: editing it retrains."""
    name = dataset_config(wildcards).get("model", config["model"])
    if ":" not in name:  # a built-in architecture (the schema's pattern)
        return {"name": name}
    return {"name": name, "source": user_model.source_digest(name)}


def fold_keys(**extra):
    """[regime, fold, *extra] of every fold output, in fold_outputs' order: the keys reach the scripts
    as params zipped with the inputs, so that no script parses a path."""
    return [list(key) for key in itertools.product(REGIMES, FOLDS, *extra.values())]


def fold_outputs(pattern, dataset, **extra):
    return [
        f"{FOLD_DIR}/{pattern}".format(
            dataset=dataset, regime=regime, fold=fold, **dict(zip(extra, rest))
        )
        for regime, fold, *rest in fold_keys(**extra)
    ]


def figure_formats():
    return config["figures"]["format"]


def final_outputs():
    """Every dataset's results, and beside them the record of where they came from."""
    outputs = []
    for dataset in DATASETS:
        outputs += dataset_outputs(dataset)
        outputs.append(f"results/{dataset}/provenance.json")
    return outputs


def dataset_outputs(dataset):
    """A dataset's figures and tables: everything its provenance record describes."""
    outputs = expand(
        "results/{dataset}/figures/{figure}.{ext}",
        dataset=dataset,
        figure=FIGURES,
        ext=figure_formats(),
    )
    outputs += expand(
        "results/{dataset}/tables/distances_{regime}.{ext}",
        dataset=dataset,
        regime=REGIMES,
        ext=["csv", "md", "tex"],
    )
    if CLAIMS:
        outputs += expand(
            "results/{dataset}/tables/claims.{ext}", dataset=dataset, ext=["csv", "md"]
        )
    if paper_dataset(dataset):
        # the paper's tables and its figure statements beside ours (paper_comparison.smk, paper_figures.smk)
        outputs += expand(
            "results/{dataset}/tables/{table}.{ext}",
            dataset=dataset,
            table=["paper_comparison", "paper_figures"],
            ext=["csv", "md"],
        )
    return outputs


def paper_dataset(dataset):
    """The paper's data set a dataset is compared with (its kind, or an arrays dataset's `paper`), else None."""
    ds = config["datasets"][dataset]
    return ds["kind"] if ds["kind"] in ("cifar10", "stl10") else ds.get("paper")


def paper_regimes():
    """The paper's regime (normal, overfit) → this run's regime playing it, for those the run has."""
    return {
        paper: STATISTICS[paper]
        for paper in ("normal", "overfit")
        if STATISTICS[paper] in REGIMES
    }


def tf_resources(runtime):
    """Resources of the TensorFlow jobs; `compute.gpu` turns on a GPU request per job."""
    resources = {"mem_mb": COMPUTE["mem_mb"], "runtime": runtime}
    if COMPUTE["gpu"]:
        resources["gpu"] = COMPUTE["gpu"]
    return resources


def provenance_params():
    """What the provenance record states of the config (its digest covers the rest); a param, so that
    any config change rewrites the record."""
    return {
        "config": canonical(config),
        "seed": config["seed"],
        "threads": COMPUTE["threads"],
        "backend": COMPUTE["backend"],
    }


def compute_params():
    """What a Keras job needs to know of `compute` at start: the backend, its threads, the GPU request,
    whether it may run on the CPU without one, XLA (scripts/common.py -> backend.configure). A param,
    so that another backend reruns the jobs; and another thread count too, since it changes the
    numbers (float reductions split over threads: 1 vs 2 threads differ after 2 epochs). The job runs
    with these threads even where --cores gives it fewer, so its numbers follow the config alone.
    """
    return {
        k: COMPUTE[k]
        for k in ("backend", "threads", "gpu", "allow_cpu_fallback", "xla")
    }


def prepare_input(wildcards):
    ds = dataset_config(wildcards)
    if ds["kind"] == "arrays":
        return ds["path"]
    if ds["kind"] in ("cifar10", "stl10"):
        return ds.get("archive", f"resources/archives/{wildcards.dataset}.tar.gz")
    return []


def archive_source(wildcards):
    """URL and checksum of an official archive: the config's, else the published defaults."""
    from robustcurves.stages.download import DEFAULTS

    ds = dataset_config(wildcards)
    if ds["kind"] not in DEFAULTS:
        raise ValueError(
            f"dataset {wildcards.dataset} (kind {ds['kind']}) has no archive to download"
        )
    return {k: ds.get(k, DEFAULTS[ds["kind"]][k]) for k in ("url", "sha256")}


def prepare_params(wildcards):
    """Everything that changes the prepared arrays; the archive's checksum when one is configured."""
    ds = dataset_config(wildcards)
    keep = {k: v for k, v in ds.items() if k in ("kind", "test_fraction", "subset")}
    if ds["kind"] in ("cifar10", "stl10"):
        keep["sha256"] = archive_source(wildcards)["sha256"]
    return canonical({**keep, "seed": config["seed"]})


def summary_inputs(wildcards):
    name, dataset = wildcards.summary, wildcards.dataset
    if name == "distances":
        return fold_outputs("distances/{attack}.csv", dataset, attack=ATTACKS)
    return fold_outputs(f"{name}.csv", dataset)


def summary_keys(wildcards):
    """The keys of summary_inputs, in their order: [regime, fold] or [regime, fold, attack]."""
    if wildcards.summary == "distances":
        return fold_keys(attack=ATTACKS)
    return fold_keys()


def figure_inputs(wildcards):
    """The figure's summaries, named: the script hands them to the plot function by keyword."""
    return {
        name: f"results/{wildcards.dataset}/summary/{name}.csv"
        for name in registry.FIGURES[wildcards.figure]
    }


def figure_style(wildcards):
    """The figure's own section, holding the shared settings it does not override (filled in at
    validation): a change reruns only its figures."""
    return canonical(config["figures"][wildcards.figure])


def attacks_by_method(*methods):
    return {
        a: config["attacks"][a]
        for a in ATTACKS
        if config["attacks"][a]["method"] in methods
    }


def cw_attack():
    """The attack the claims and the headline figure follow: the first Carlini-Wagner one."""
    return next(iter(attacks_by_method("cw")), None)


# The report's front page and its HTML tables (front_page.smk, html_table.smk)
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
