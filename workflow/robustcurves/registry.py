"""Names the workflow is built from, defined once for the rules, the schema check and the tests."""

# Fold tables aggregated into results/{dataset}/summary/{name}.csv (one `aggregate` function each).
SUMMARIES = ("history", "evaluation", "robustness", "distances", "whitebox")

# Each figure (a function of robustcurves.report.figure) and the summaries it is drawn from, by keyword: a
# figure reruns only when its own data changes.
FIGURES = {
    "headline": ("history", "evaluation"),
    "training_curves": ("history",),
    "accuracy_asr": ("history", "evaluation"),
    "clever": ("robustness",),
    "sensitivity_robustness": ("robustness",),
    "transfer_whitebox": ("evaluation", "whitebox"),
}
