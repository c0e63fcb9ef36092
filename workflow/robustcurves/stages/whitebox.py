"""White-box robustness of each snapshot: every chosen snapshot is attacked itself, not by replay.

The paper crafts a fold's adversarial sets once, against its best snapshot, and replays them on every
epoch: its curves measure transfer. Here each chosen snapshot faces PGD, APGD-CE and APGD-DLR (L∞) and
CW-L2 computed against its own weights, on one fixed set of test images. At a fixed eps an undefended
LeNet is broken almost everywhere (robust accuracy ~0 at 8/255 or 0.3), so the measures reported are
ones that still discriminate:

- per image, the smallest L∞ eps at which the attack succeeds, found by running every grid eps at once
  and then bisecting between the largest failing and the smallest successful grid point (all images
  at once, one eps each); the median per snapshot (`inf` when more than half resist every grid eps);
- `median_min_eps_correct` (`median_min_l2_correct` for CW): the same over the images the snapshot
  classifies correctly only, beside `clean_accuracy`: the median over all images counts misclassified
  ones as 0 and so mostly measures clean error. It is the smallest eps (L2) at which at least half of
  those images are broken (`censored_median`): `inf` when more than half resist every grid eps, a value
  censored at the top of the grid, not a missing one;
- robust accuracy on the eps grid: an image counts as broken at eps when any run at eps' ≤ eps
  succeeded (an adversarial within eps' lies within eps);
- `worst`: per image, the smallest eps over the three L∞ attacks (AutoAttack's ensemble idea);
- CW-L2: success rate and median L2 of its successes, and the median minimal L2 over all images.

Images the snapshot already misclassifies count as broken at eps 0 (L2 0) and are not attacked;
robust accuracy is over all images, success rates over the images the snapshot classifies correctly.

Gradient-masking flags per snapshot (Carlini et al. 2019's sanity checks), counted in whole images:
APGD-CE leaving at least `masking_images` fewer images robust than PGD (same loss) at some grid eps
(PGD's fixed steps stall; `masking_gap_images`), or a run's number of successes falling by at least
`masking_images` from one grid eps to the next (`masking_drop_images`). Counts, not fractions: on 20
images a one-image gap is 0.05, and a threshold on the difference of two fractions flags it or not by
round-off.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from robustcurves import sampling
from robustcurves.attacks.apgd import apgd_with_success
from robustcurves.attacks.cw import carlini_wagner_l2
from robustcurves.attacks.pgd import pgd_with_success
from robustcurves.config import default
from robustcurves.models import Snapshots, logits_fn, predict

log = logging.getLogger(__name__)

LINF_ATTACKS = ("pgd", "apgd-ce", "apgd-dlr")
ATTACKS = (*LINF_ATTACKS, "cw")
WORST = "worst"
COLUMNS = [
    "epoch", "attack", "eps", "images", "attacked", "clean_accuracy", "robust_accuracy", "success_rate",
    "median_min_eps", "median_min_eps_correct", "median_l2", "median_min_l2", "median_min_l2_correct",
    "masking_gap_images", "masking_drop_images", "masking_apgd_below_pgd", "masking_not_growing", "masking",
]  # fmt: skip
IMAGE_COLUMNS = ["epoch", "attack", "test_index", "correct", "minimal"]
# The settings' defaults: the schema's whitebox section (its masking_images: a one-image difference between
# two attacks of equal strength is what a single random start or step decides; two images on the default
# 20 (10 points) is the smallest gap that one image cannot make)
SETTINGS = default("whitebox")


def censored_median(values: np.ndarray) -> float:
    """The smallest value at which at least half of `values` (per-image minimal eps or L2, `inf` where
    the attack never succeeded) are reached: the lower median, `inf` when more than half are `inf`,
    NaN when empty.

    `inf` is a value censored at the top of the grid (the image resisted every eps tried), not a missing
    one, so it stays: dropping it would turn the most robust snapshots into the least. The lower median
    (the Kaplan-Meier median: robust accuracy first at or below one half) is finite when exactly half
    resist, where the midpoint of a finite and an infinite value is not.
    """
    values = np.sort(np.asarray(values, np.float64))
    return float(values[(len(values) - 1) // 2]) if len(values) else float("nan")


def linf_attack(name: str, model, *, max_iter: int, pgd_step: float, restarts: int, batch_size: int):
    """`succeeds(x, y, eps, seed) -> bool per image` for one of LINF_ATTACKS, eps one per image."""
    if name == "pgd":

        def succeeds(x, y, eps, seed):
            kw = {"eps_step": pgd_step * eps, "num_random_init": restarts, "batch_size": batch_size}
            return pgd_with_success(model, x, y, seed=seed, eps=eps, max_iter=max_iter, **kw)[1]

    elif name in ("apgd-ce", "apgd-dlr"):
        loss = name.split("-")[1]

        def succeeds(x, y, eps, seed):
            kw = {"restarts": restarts, "batch_size": batch_size}
            return apgd_with_success(model, x, y, seed=seed, eps=eps, loss=loss, max_iter=max_iter, **kw)[1]

    else:
        raise ValueError(f"unknown white-box L∞ attack {name!r}; choose from {', '.join(LINF_ATTACKS)}")
    return succeeds


def minimal_eps(succeeds, x, y, grid, steps: int, seed: int):
    """(raw, min_eps): success of a run at each grid eps ([len(grid), n]), and per image the smallest
    eps found to succeed (`inf` when no grid eps succeeded).

    Every grid eps runs at once (the images repeated, one eps each); then `steps` bisection steps, all
    images at once, between the largest failing grid eps below the smallest successful one and that one
    (at their geometric mean; the arithmetic one when the lower end is 0).
    """
    grid = np.asarray(sorted(grid), np.float32)
    n, g = len(x), len(grid)
    if n == 0:
        return np.zeros((g, 0), bool), np.zeros(0)
    reps = np.repeat(np.arange(n)[None], g, axis=0).ravel()  # grid-major: row k holds grid[k]
    raw = succeeds(x[reps], y[reps], np.repeat(grid, n), seed).reshape(g, n)
    hit = raw.any(axis=0)
    first = np.where(hit, raw.argmax(axis=0), g - 1)
    hi = np.where(hit, grid[first], np.inf)
    below = raw == False  # noqa: E712 (a failing grid eps below the first success bounds from below)
    below &= np.arange(g)[:, None] < first[None]
    lo = np.where(below.any(axis=0), grid[np.where(below, np.arange(g)[:, None], -1).max(axis=0)], 0.0)
    lo = np.where(hit, lo, np.nan)
    todo = np.flatnonzero(hit)
    for step in range(steps):
        if len(todo) == 0:
            break
        # geometric midpoints once a lower bound exists: the grid spans two decades (1/255 … 0.3)
        mid = np.where(lo[todo] > 0, np.sqrt(lo[todo] * hi[todo]), hi[todo] / 2).astype(np.float32)
        ok = succeeds(x[todo], y[todo], mid, seed + 1 + step)
        hi[todo] = np.where(ok, mid, hi[todo])
        lo[todo] = np.where(ok, lo[todo], mid)
    return raw, hi


def masking_flags(
    robust: dict[str, np.ndarray],
    raw_success: dict[str, np.ndarray],
    images: int = SETTINGS["masking_images"],
) -> dict:
    """Gradient-masking counts and flags of one snapshot, in whole images.

    robust: attack → number of images robust at each grid eps (ints, [len(grid)]); raw_success:
    attack → number of successes of the run at each grid eps. `masking_gap_images`: the largest
    excess of PGD's robust images over APGD-CE's at any eps (0 without both); `masking_drop_images`:
    the largest fall in a run's successes from one grid eps to the next (0 when they never fall). A
    flag needs at least `images` images.
    """
    if images < 1:
        raise ValueError(f"masking_images must be at least 1, got {images}")
    # PGD against APGD with the same (CE) loss: a gap is the fixed-step optimiser failing, whereas
    # DLR beating CE is a property of the loss (it often is, on an undefended net)
    gap = 0
    if "pgd" in robust and "apgd-ce" in robust:
        gap = max(0, int(np.max(np.asarray(robust["pgd"]) - np.asarray(robust["apgd-ce"]), initial=0)))
    drop = max([0, *(int(np.max(-np.diff(np.asarray(c)), initial=0)) for c in raw_success.values())])
    below, not_growing = gap >= images, drop >= images
    return {
        "masking_gap_images": gap,
        "masking_drop_images": drop,
        "masking_apgd_below_pgd": below,
        "masking_not_growing": not_growing,
        "masking": below or not_growing,
    }


def evaluate_snapshot(model, x, y, **settings) -> list[dict]:
    """The rows of `attack_snapshot` alone."""
    return attack_snapshot(model, x, y, **settings)[0]


def attack_snapshot(
    model,
    x,
    y,
    *,
    seed: int,
    attacks=SETTINGS["attacks"],
    eps_grid=SETTINGS["eps_grid"],
    bisection_steps: int = SETTINGS["bisection_steps"],
    max_iter: int = SETTINGS["max_iter"],
    pgd_step: float = SETTINGS["pgd_step"],
    restarts: int = SETTINGS["restarts"],
    masking_images: int = SETTINGS["masking_images"],
    cw: dict = SETTINGS["cw"],
    batch_size: int = SETTINGS["batch_size"],
) -> tuple[list[dict], dict[str, np.ndarray], np.ndarray]:
    """(rows, minimal, correct) for one model. rows (without the epoch): one per L∞ attack (and `worst`)
    and grid eps, one for CW. minimal: attack → per image the smallest eps (L∞ attacks, `worst`) or L2
    (CW) found to succeed, `inf` where every try failed, NaN where the image is misclassified clean (not
    attacked). correct: the images' clean correctness (bool [n]).

    x: float32 NHWC images in [0, 1], y: their labels; eps in L∞ pixel units, L2 over all pixels.
    """
    grid = sorted(float(e) for e in eps_grid)
    n = len(x)
    correct = predict(logits_fn(model), x) == y if n else np.zeros(0, bool)
    idx = np.flatnonzero(correct)
    xa, ya = x[idx], y[idx]
    base = {"images": n, "attacked": len(idx), "clean_accuracy": correct.mean() if n else np.nan}
    min_eps, raw = {}, {}
    for i, name in enumerate(a for a in attacks if a in LINF_ATTACKS):
        succeeds = linf_attack(name, model, max_iter=max_iter, pgd_step=pgd_step, restarts=restarts,
                               batch_size=batch_size)  # fmt: skip
        raw[name], found = minimal_eps(succeeds, xa, ya, grid, bisection_steps, seed + 1000 * i)
        full = np.zeros(n)  # misclassified: broken at eps 0
        full[idx] = found
        min_eps[name] = full
    if len(min_eps) > 1:
        min_eps[WORST] = np.minimum.reduce(list(min_eps.values()))
    eps = np.asarray(grid)
    # robust images per grid eps: counts, so that the masking flags compare whole images
    robust = {a: (m[None] > eps[:, None] * (1 + 1e-6)).sum(axis=1) for a, m in min_eps.items()}
    flags = masking_flags(robust, {a: r.sum(axis=1) for a, r in raw.items()}, masking_images)
    rows = []
    for a, m in min_eps.items():
        for k, e in enumerate(grid):
            broken = int(np.sum(m[idx] <= e * (1 + 1e-6))) if len(idx) else 0
            rows.append({**base, "attack": a, "eps": e, "robust_accuracy": robust[a][k] / n if n else np.nan,
                         "success_rate": broken / len(idx) if len(idx) else np.nan,
                         "median_min_eps": float(np.median(m)) if n else np.nan,
                         "median_min_eps_correct": censored_median(m[idx])})  # fmt: skip
    minimal = {a: np.where(correct, m, np.nan) for a, m in min_eps.items()}
    if "cw" in attacks:
        measures, l2 = cw_measures(model, x, y, correct, cw)
        rows.append({**base, "attack": "cw", **measures})
        minimal["cw"] = np.where(correct, l2, np.nan)
    return [{**r, **flags} for r in rows], minimal, correct


def cw_measures(model, x, y, correct, settings: dict) -> tuple[dict, np.ndarray]:
    """(measures, l2): CW-L2 against `model` on the images it classifies correctly (`correct`, bool [n]);
    per image the L2 over all pixels in [0, 1] units, 0 for misclassified images and `inf` where CW
    found no adversarial."""
    idx = np.flatnonzero(correct)
    l2 = np.zeros(len(x))
    success = np.zeros(len(x), bool)
    if len(idx):
        adv = carlini_wagner_l2(model, x[idx], y[idx], **settings)
        success[idx] = predict(logits_fn(model), adv) != y[idx]
        dist = np.sqrt(((adv - x[idx]) ** 2).reshape(len(idx), -1).sum(axis=1))
        l2[idx] = np.where(success[idx], dist, np.inf)
    ok = success[idx]
    return {
        "robust_accuracy": float(np.mean(np.isinf(l2))) if len(x) else np.nan,
        "success_rate": float(ok.mean()) if len(idx) else np.nan,
        "median_l2": float(np.median(l2[idx][ok])) if ok.any() else np.nan,
        "median_min_l2": float(np.median(l2)) if len(x) else np.nan,
        "median_min_l2_correct": censored_median(l2[idx]),
    }, l2


def whitebox(snapshots: Snapshots, x, y, *, epochs, seed: int, indices=None, **settings):
    """(table, images) of the chosen `epochs` of a fold on images x, y (the same for every epoch and
    regime): see the module docstring; settings as `attack_snapshot`'s. images: one row per epoch,
    attack and image (`indices`, its test index; default 0…n−1) with its clean correctness and
    `minimal` eps (L∞) or L2 (CW): `inf` where every try failed, NaN where misclassified clean."""
    indices = np.arange(len(y)) if indices is None else np.asarray(indices)
    attacks = settings.get("attacks", SETTINGS["attacks"])
    if "apgd-dlr" in attacks and snapshots.classes < 3:
        raise ValueError(
            f"{snapshots.path}: apgd-dlr needs at least 3 classes (the DLR loss divides by the gap "
            f"between the largest and the third-largest logit), the model has {snapshots.classes}: leave "
            "apgd-dlr out of whitebox.attacks"
        )
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    model = snapshots.model()
    missing = sorted(set(epochs) - set(snapshots.epochs))
    if missing:
        raise ValueError(f"{snapshots.path}: no snapshot for epoch(s) {missing}")
    rows, images = [], []
    for epoch in sorted(set(epochs)):
        model.set_weights(snapshots.weights(epoch))
        # the same seed for every epoch: common random numbers across the snapshots compared
        epoch_rows, minimal, correct = attack_snapshot(model, x, y, seed=seed, **settings)
        rows += [{"epoch": epoch, **r} for r in epoch_rows]
        images += [
            pd.DataFrame(
                {"epoch": epoch, "attack": a, "test_index": indices, "correct": correct, "minimal": m}
            )
            for a, m in minimal.items()
        ]
        first = epoch_rows[0]
        correct = {
            r["attack"]: r.get("median_min_eps_correct", r.get("median_min_l2_correct")) for r in epoch_rows
        }
        log.info("epoch %d: clean accuracy %.3f; median min eps (L2) of its correct images %s; masking %s",
                 epoch, first["clean_accuracy"], correct, first["masking"])  # fmt: skip
    images = pd.concat(images, ignore_index=True) if images else pd.DataFrame(columns=IMAGE_COLUMNS)
    return pd.DataFrame(rows).reindex(columns=COLUMNS), images


def fold_table(
    snapshots: Snapshots,
    x_test,
    y_test,
    *,
    best: int,
    samples: int,
    every: int,
    seed: int,
    dataset: str,
    fold,
    **settings,
) -> pd.DataFrame:
    """`whitebox` of a fold: every `every`-th snapshot, the last and the `best`, on `samples` test images
    drawn without the regime (`sampling.fold_images`: both regimes of a fold face the same images, a
    paired comparison); `best` marks the best epoch's rows. Returns `whitebox`'s (table, images), the
    images by their test index. Settings as `attack_snapshot`'s."""
    idx, image_seed = sampling.fold_images(len(y_test), samples, seed, dataset, fold, "whitebox")
    epochs = sorted({*sampling.metric_epochs(snapshots.epochs, every), best})
    log.info("white-box attacks on %d snapshots (%s), %d test images", len(epochs), epochs, len(idx))
    table, images = whitebox(
        snapshots, x_test[idx], y_test[idx], epochs=epochs, seed=image_seed, indices=idx, **settings
    )
    table["best"] = table["epoch"] == best
    return table, images
