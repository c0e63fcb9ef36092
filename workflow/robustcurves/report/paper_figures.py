"""The paper's statements about its figures (Pedraza, Deniz, Bueno 2021, Figures 3–10) checked against a run.

`paper_figures.csv` (package data) holds them: one row per statement, or per part of a two-part one
("from A to B", "lies in A"), each naming a quantity of the run, the per-fold statistic drawn from it
and the set the paper puts that statistic in. docs/paper.md, "Figure statements", gives the rules:

- epoch range ("usually the 35th"): agrees when more than half the folds have their best epoch in the
  range, does not when fewer than half do, cannot tell on a tie;
- every other kind: a t interval over folds of the per-fold statistic, its bounds one-sided
  `confidence` bounds (as the claims table's); agrees when it lies within [low − tolerance,
  high + tolerance], does not when it lies wholly outside, cannot tell when it straddles a bound.

Fewer than MIN_FOLDS folds with a value, a regime or quantity the run lacks, a run shorter than the
paper's PAPER_EPOCHS (but for where a curve starts): cannot tell, with the reason.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
from scipy import stats as sps

from robustcurves.stages import select_best
from robustcurves.statistics import snapshots
from robustcurves.statistics.inference import CONFIDENCE

DATASETS = ("cifar10", "stl10")
VERDICTS = ("agrees", "does not", "cannot tell")
MIN_FOLDS = 2
# The paper's figures span its 35 epochs (configs/paper.yaml). A run is read over these epochs only; one
# that stops earlier cannot speak of their course, only of where it starts (statistic `first`).
PAPER_EPOCHS = 35
# "late in training": the epochs after this share of the fold's last epoch (the last third)
LATE = 2 / 3
# quantity -> the per-fold table and column it is read from
SOURCES = {
    "val_accuracy": ("history", "val_accuracy"),
    "cw_asr": ("evaluation", "asr"),
    "loss_sensitivity": ("robustness", "loss_sensitivity"),
    "clever": ("robustness", "clever"),
    "empirical_robustness": ("robustness", "empirical_robustness"),
    "clever_std": ("clever", "score"),  # std over the images with an accepted fit, per snapshot
}
COMPARISONS = ("regime_ratio", "regime_difference")


class CannotTell(Exception):
    """The run cannot decide a statement; the message says why."""


def statements() -> pd.DataFrame:
    """The statements of paper_figures.csv (id, figure, dataset, regime, quantity, statistic, kind, low,
    high, tolerance, from_epoch, statement, quote)."""
    with files(__package__).joinpath("paper_figures.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, comment="#", dtype={"figure": str})


# --- the two rules: pure functions of numbers -------------------------------------------------------


def t_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, lower, upper) of per-fold values (NaNs dropped): Student's t over folds, each bound a
    one-sided `confidence` bound; NaN bounds with fewer than two values, the mean itself when all agree."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    half = float(sps.t.ppf(confidence, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return mean, mean - half, mean + half


def interval_verdict(lower: float, upper: float, low: float, high: float) -> tuple[str, str]:
    """(verdict, reason) of an interval [lower, upper] against the paper's [low, high] (tolerance added)."""
    target = _span(low, high)
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return "cannot tell", "no interval"
    if upper < low:
        return "does not", f"the interval lies below {target}"
    if lower > high:
        return "does not", f"the interval lies above {target}"
    if low <= lower and upper <= high:
        return "agrees", f"the interval lies within {target}"
    bound = low if lower < low else high
    return "cannot tell", f"the interval straddles {bound:g}, a bound of {target}"


def majority_verdict(epochs, low: float, high: float) -> tuple[str, str]:
    """(verdict, reason) of "usually in [low, high]" on per-fold epochs: more than half the folds in
    the range agrees, fewer than half does not, exactly half cannot tell."""
    epochs = np.asarray(epochs, float)
    n, inside = len(epochs), int(((epochs >= low) & (epochs <= high)).sum())
    share = f"{inside} of {n} folds in {_span(low, high)}"
    if 2 * inside > n:
        return "agrees", share
    if 2 * inside < n:
        return "does not", share
    return "cannot tell", share + ": a tie"


def _span(low: float, high: float) -> str:
    if np.isinf(low) and np.isinf(high):
        return "any value"
    if np.isinf(low):
        return f"≤ {high:g}"
    if np.isinf(high):
        return f"≥ {low:g}"
    if low == high:
        return f"{low:g}"
    return f"{low:g} to {high:g}" if low < 0 or high < 0 else f"{low:g}–{high:g}"


# --- per-fold statistics ----------------------------------------------------------------------------


def relative_change(epochs, values) -> float:
    """The least-squares line's change over the epochs, as a share of the mean value: slope × (last −
    first epoch) / mean. NaN with fewer than two epochs or a mean that is not positive."""
    e, v = np.asarray(epochs, float), np.asarray(values, float)
    keep = np.isfinite(v)
    e, v = e[keep], v[keep]
    if len(np.unique(e)) < 2 or not v.mean() > 0:
        return float("nan")
    slope = sps.linregress(e, v).slope
    return float(slope * (e.max() - e.min()) / v.mean())


def _per_fold(series: pd.DataFrame, statistic: str, from_epoch: int) -> tuple[pd.Series, list[int]]:
    """Per fold, `statistic` of the (fold, epoch, value) series; and the epochs it was read at."""
    values, used = {}, set()
    for fold, df in series.dropna(subset=["value"]).sort_values("epoch").groupby("fold"):
        e, v = df["epoch"].to_numpy(), df["value"].to_numpy()
        if statistic == "first":
            values[fold], at = v[0], e[:1]
        elif statistic == "last":
            values[fold], at = v[-1], e[-1:]
        elif statistic in ("peak", "max"):
            values[fold], at = v.max(), e[v == v.max()]
        elif statistic == "min":
            values[fold], at = v.min(), e[v == v.min()]
        elif statistic == "late_mean":
            late = e > LATE * e.max()
            values[fold], at = v[late].mean(), e[late]
        elif statistic == "relative_change":
            after = e >= from_epoch
            values[fold], at = relative_change(e[after], v[after]), e[after]
        else:
            raise ValueError(f"unknown statistic {statistic!r}")
        used.update(int(x) for x in at)
    return pd.Series(values, dtype=float), sorted(used)


def _series(frames: dict, quantity: str, regime: str, cw: str | None) -> pd.DataFrame:
    """(fold, epoch, value) of `quantity` in the run's `regime`; CannotTell when the run lacks it."""
    table, column = SOURCES[quantity]
    df = frames.get(table)
    if df is None or df.empty or column not in df:
        raise CannotTell(f"the run has no {table} table with {column}")
    df = df[df["regime"] == regime]
    if quantity == "cw_asr":
        if cw is None:
            raise CannotTell("the run has no CW attack")
        df = df[df["attack"] == cw]
    if quantity == "clever_std":
        df = (
            df.dropna(subset=["score"])
            .groupby(["fold", "epoch"])["score"]
            .std(ddof=1)
            .rename(column)
            .reset_index()
        )
    out = df[["fold", "epoch", column]].rename(columns={column: "value"})
    if out["value"].isna().all():
        raise CannotTell(f"{quantity} has no value in the {regime} regime")
    return out


def _compare(frames, quantity, statistic, regimes, cw, from_epoch):
    """Per fold, overfit against normal over the epochs both measured from `from_epoch` on: the ratio of
    the means − 1, or the mean difference."""
    missing = [p for p in ("normal", "overfit") if p not in regimes]
    if missing:
        raise CannotTell(f"no regime of this run plays the paper's {' and '.join(missing)} one")
    a, b = (_series(frames, quantity, regimes[p], cw) for p in ("overfit", "normal"))
    pairs = a.merge(b, on=["fold", "epoch"], suffixes=("_o", "_n")).dropna()
    pairs = pairs[pairs["epoch"] >= from_epoch]
    values = {}
    for fold, df in pairs.groupby("fold"):
        if statistic == "regime_ratio":
            values[fold] = (
                df["value_o"].mean() / df["value_n"].mean() - 1 if df["value_n"].mean() > 0 else np.nan
            )
        else:
            values[fold] = (df["value_o"] - df["value_n"]).mean()
    return pd.Series(values, dtype=float), sorted(int(e) for e in pairs["epoch"].unique())


def _best_epochs(history: pd.DataFrame | None, regime: str) -> pd.Series:
    if history is None or history.empty:
        raise CannotTell("the run has no training history")
    df = history[history["regime"] == regime]
    return pd.Series(
        {fold: select_best.best_epoch(h)["epoch"] for fold, h in df.groupby("fold")}, dtype=float
    )


# --- one statement, then all -------------------------------------------------------------------------


def _figure(row, dataset: str) -> str:
    """The figure of `dataset`: a "both" row lists CIFAR-10's, then STL-10's."""
    figures = [f.strip() for f in str(row["figure"]).split(",")]
    return figures[DATASETS.index(dataset)] if row["dataset"] == "both" and len(figures) > 1 else figures[0]


def _values_text(values: pd.Series, digits: int = 4) -> str:
    return "; ".join(f"{v:.{digits}g}" for v in values)


def evaluate(
    row, frames: dict, *, regimes: dict, cw, warmup: int, confidence: float, trained: int, clever_radius=None
):
    """One statement (a row of `statements()`) against the run's frames (cut to the paper's epochs) of a
    run that trained `trained` epochs: the result's fields."""
    low, high, tol = float(row["low"]), float(row["high"]), float(row["tolerance"])
    low, high = low - tol, high + tol
    from_epoch = int(row["from_epoch"]) if pd.notna(row["from_epoch"]) else warmup + 1
    paper_regime = row["regime"]
    out = {"regime": regimes.get(paper_regime, ""), "estimate": np.nan, "lower": np.nan, "upper": np.nan}
    out |= {"folds": 0, "values": "", "epochs": ""}
    try:
        statistic = row["statistic"]
        if statistic in COMPARISONS:
            values, used = _compare(frames, row["quantity"], statistic, regimes, cw, from_epoch)
        elif paper_regime not in regimes:
            raise CannotTell(f"no regime of this run plays the paper's {paper_regime} one")
        elif row["kind"] == "epoch range":
            values = _best_epochs(frames.get("history"), regimes[paper_regime])
            used = sorted(int(e) for e in values)
        else:
            series = _series(frames, row["quantity"], regimes[paper_regime], cw)
            values, used = _per_fold(series, statistic, from_epoch)
        values = values.dropna()
        out |= {"folds": len(values), "values": _values_text(values), "epochs": snapshots.epoch_ranges(used)}
        if statistic != "first" and trained < PAPER_EPOCHS:
            raise CannotTell(f"the run trains {trained} epochs, the paper's figures {PAPER_EPOCHS}")
        if row["quantity"] == "clever" and clever_radius is not None and low > clever_radius:
            raise CannotTell(
                f"the run's CLEVER radius {clever_radius:g} caps every score below {_span(low, high)}"
            )
        if len(values) < MIN_FOLDS:
            raise CannotTell(f"{len(values)} fold(s) with a value: too few (at least {MIN_FOLDS})")
        if row["kind"] == "epoch range":
            out |= {"estimate": float(values.median()), "lower": values.min(), "upper": values.max()}
            verdict, reason = majority_verdict(values, low, high)
        else:
            mean, lower, upper = t_interval(values, confidence)
            out |= {"estimate": mean, "lower": lower, "upper": upper}
            verdict, reason = interval_verdict(lower, upper, low, high)
    except CannotTell as why:
        verdict, reason = "cannot tell", str(why)
    return out | {"verdict": verdict, "reason": reason}


def check(
    frames: dict,
    dataset: str,
    regimes: dict[str, str],
    *,
    cw: str | None,
    warmup: int,
    confidence: float = CONFIDENCE,
    clever_radius: float | None = None,
) -> pd.DataFrame:
    """Every statement the paper makes of `dataset`'s figures, with ours and a verdict.

    frames: the run's per-fold tables stacked with regime and fold columns (aggregate.stack), by name:
    history, evaluation, robustness, clever (clever.csv's per-image scores); any may be missing.
    Snapshots flagged degenerate in evaluation or robustness are left out of those and of clever.
    Every table is read over the paper's PAPER_EPOCHS epochs (a best epoch too: the best of those).
    regimes: the paper's regime (normal | overfit) -> ours; cw: the CW attack whose ASR is compared;
    warmup: epochs left out of trends and regime comparisons without their own `from_epoch`;
    clever_radius: the run's CLEVER radius (scores are capped at it).
    """
    if dataset not in DATASETS:
        raise ValueError(f"the paper has no figures for dataset {dataset!r}; choose one of {DATASETS}")
    frames = {k: v for k, v in frames.items() if v is not None and not v.empty}
    # how long the run trained (its history, else its longest table), then its tables cut to the paper's
    trained = int(max((df["epoch"].max() for df in frames.values()), default=0))
    if "history" in frames:
        trained = int(frames["history"]["epoch"].max())
    frames = {k: v[v["epoch"] <= PAPER_EPOCHS] for k, v in frames.items()}
    flagged = snapshots.flagged_snapshots(*(frames[k] for k in ("evaluation", "robustness") if k in frames))
    for name in ("evaluation", "robustness", "clever"):
        if name in frames:
            frames[name] = snapshots.drop_snapshots(snapshots.sound(frames[name]), flagged)
    rows = []
    for _, row in statements().iterrows():
        if row["dataset"] not in (dataset, "both"):
            continue
        result = evaluate(
            row,
            frames,
            regimes=regimes,
            cw=cw,
            warmup=warmup,
            confidence=confidence,
            trained=trained,
            clever_radius=clever_radius,
        )
        rows.append(
            {
                "id": row["id"],
                "figure": _figure(row, dataset),
                "paper_regime": row["regime"],
                "quantity": row["quantity"],
                "statistic": row["statistic"],
                "kind": row["kind"],
                "statement": row["statement"],
                "quote": row["quote"],
                "paper_low": row["low"] - row["tolerance"],
                "paper_high": row["high"] + row["tolerance"],
                **result,
            }
        )
    return pd.DataFrame(rows)


# --- writing -----------------------------------------------------------------------------------------


def _ours(r) -> str:
    if r["folds"] == 0 or not np.isfinite(r["estimate"]):
        return "n/a"
    if r["kind"] == "epoch range":
        return f"epochs {r['values']} (fold range {r['lower']:g}–{r['upper']:g})"
    interval = f"[{r['lower']:.4g}, {r['upper']:.4g}]" if np.isfinite(r["lower"]) else "(no interval)"
    return f"{r['estimate']:.4g} {interval}, {r['folds']} folds; epochs {r['epochs']}"


def markdown(table: pd.DataFrame, caption: str, confidence: float = CONFIDENCE) -> str:
    if table.empty:
        return f"{caption}\n\nThe paper states nothing of this data set's figures.\n"
    shown = pd.DataFrame(
        {
            "figure": table["figure"],
            "regime": [
                f"{r} ({p})" if r and r != p else (r or f"({p})")
                for r, p in zip(table["regime"], table["paper_regime"], strict=True)
            ],
            "statement": table["statement"],
            "the paper": [f'"{q}"' for q in table["quote"]],
            "ours": [_ours(r) for _, r in table.iterrows()],
            "verdict": table["verdict"],
            "why": table["reason"],
        }
    )
    counts = table["verdict"].value_counts()
    tally = ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
    legend = (
        f"{len(table)} statements: {tally}. Ours: the mean over folds of the per-fold statistic [t interval, "
        f"one-sided {confidence:.0%} bounds] and the epochs it was read at; for best epochs, each fold's. "
        "Agrees: the interval lies within the paper's range (to its printed precision); does not: wholly "
        "outside; cannot tell: it straddles a bound, or the run lacks what the statement needs. Best "
        "epochs: 'usually' is more than half the folds. Rules and readings: docs/paper.md, 'Figure "
        "statements'."
    )
    return f"{caption}\n\n{shown.to_markdown(index=False)}\n\n{legend}\n"
