"""Every sanity check of the study, in one list: what it detects (one sentence), the function that decides
it, and where its flag lands. docs/checks.md explains each flag and what to do about it; a test holds the
two, the functions and the output columns to this list.

A check either flags (a column in an artefact, the measurement beside it NaN or left out of the claims) or
refuses (an error before anything is written, naming the input): a sound-looking number is never kept
where a check failed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str  # the flag's column, or the refusal's name; docs/checks.md has a section of this name
    detects: str
    function: str  # module:function (in robustcurves) that decides it
    lands: tuple[str, ...]  # where it shows: "artefact:column", a log, or "refused"


FOLD = "results/{dataset}/{regime}/fold{fold}"

CHECKS = (
    Check(
        "constant_predictions",
        "one class takes at least 99 % of a snapshot's test predictions while the test labels vary: the "
        "network has collapsed.",
        "measures.degenerate:degenerate",
        (
            f"{FOLD}/evaluation.csv:constant_predictions",
            f"{FOLD}/robustness.csv:constant_predictions",
            "logs/train (a warning per epoch)",
        ),
    ),
    Check(
        "vanishing_gradients",
        "the input gradient of every logit is below 1e-6 on every metric image (dead ReLUs), so that "
        "every attack and measure would read 'robust'.",
        "measures.degenerate:degenerate",
        (
            f"{FOLD}/evaluation.csv:vanishing_gradients",
            f"{FOLD}/robustness.csv:vanishing_gradients",
            "logs/train (a warning per epoch)",
        ),
    ),
    Check(
        "degenerate",
        "either of the two above, with its reason: the snapshot's robustness measures are NaN and the "
        "claims leave it out, naming it.",
        "measures.degenerate:degenerate",
        (
            f"{FOLD}/evaluation.csv:degenerate",
            f"{FOLD}/robustness.csv:degenerate",
            "results/{dataset}/tables/claims.csv:excluded",
        ),
    ),
    Check(
        "clever_rejected",
        "a reverse Weibull fit of CLEVER's batch maxima put its location below the largest maximum or "
        "failed the Kolmogorov-Smirnov test: that image gets no CLEVER score.",
        "measures.clever:fit_check",
        (f"{FOLD}/clever.csv:reason", f"{FOLD}/robustness.csv:clever_rejected"),
    ),
    Check(
        "masking_apgd_below_pgd",
        "APGD-CE leaves fewer images robust than PGD with the same loss at some eps, by at least "
        "`whitebox.masking_images`: PGD's fixed steps stall, a sign of gradient masking.",
        "stages.whitebox:masking_flags",
        (f"{FOLD}/whitebox.csv:masking_apgd_below_pgd", f"{FOLD}/whitebox.csv:masking"),
    ),
    Check(
        "masking_not_growing",
        "an attack's successes fall, by at least `whitebox.masking_images`, from one eps of the grid to a "
        "larger one: success must grow with the budget unless gradients are masked.",
        "stages.whitebox:masking_flags",
        (f"{FOLD}/whitebox.csv:masking_not_growing", f"{FOLD}/whitebox.csv:masking"),
    ),
    Check(
        "whitebox_empty",
        "a white-box snapshot classifies none of the white-box images correctly, or one regime's snapshot "
        "misclassifies an image: those images are not compared between the regimes, and counted.",
        "statistics.claims:whitebox_pairs",
        (f"{FOLD}/whitebox_images.csv:correct", "results/{dataset}/tables/claims.csv:excluded"),
    ),
    Check(
        "dataset",
        "a dataset's arrays lack a key, are channels first, have labels of the wrong shape, a test class "
        "no training image has, or a single class in training or test: refused before any training.",
        "data:trainable",
        ("refused", "logs/prepare"),
    ),
    Check(
        "fold_without_class",
        "all images of a class fall in one fold's validation part (a class with one training image "
        "always does), so that fold would train without it: refused before any training.",
        "stages.split:folds",
        ("refused", "logs/split"),
    ),
    Check(
        "non_finite_loss",
        "the training loss became NaN or infinite: the job stops, naming the epoch, and writes no snapshots.",
        "stages.train:train",
        ("refused", "logs/train"),
    ),
)
