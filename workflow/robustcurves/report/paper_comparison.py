"""The paper's published distances (Pedraza, Deniz, Bueno 2021, Tables 2–5) beside a run's (docs/paper.md).

The tables ship with the package (paper_tables.csv: mean and ± as printed; the ± is a spread over
images). The paper's L2 is the L2 over one value per pixel, our `l2_pixel`; our all-element `l2` is
compared with it too, so the √channels gap stays visible.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

# The paper prints two decimals: a value within half a unit of them (L∞ 0.3 in float32 against "0.30 ±
# 0.00") lies within its printed spread.
PRINTED = 0.005

DATASETS = ("cifar10", "stl10")
REGIMES = ("normal", "overfit")
# our distance -> the paper's quantity it is compared with
DISTANCES = {"l0": "l0", "l2": "l2", "l2_pixel": "l2", "linf": "linf"}


def tables() -> pd.DataFrame:
    """Tables 2–5 in long form: table, dataset, regime, attack, quantity, mean, spread."""
    with files(__package__).joinpath("paper_tables.csv").open() as f:
        return pd.read_csv(f, comment="#")


def comparison(summary: pd.DataFrame, dataset: str, regimes: dict[str, str], attacks: dict[str, str]):
    """One row per regime × attack × distance: the paper's value beside ours.

    summary: the distance summary (aggregate.distances); dataset: the paper's (cifar10 | stl10);
    regimes: the paper's regime (normal | overfit) -> ours; attacks: our attack -> its method (the
    paper's attack). Ours is over the successful adversarials of all folds pooled, as the paper's ±,
    with the std of the fold means beside it. Rows whose regime or distance this run lacks are left
    out; an attack that broke nothing has NaN.
    """
    if dataset not in DATASETS:
        raise ValueError(f"the paper has no tables for dataset {dataset!r}; choose one of {DATASETS}")
    published = tables()
    published = published[published["dataset"] == dataset].set_index(["regime", "attack", "quantity"])
    ours = summary.set_index(["regime", "attack", "quantity"])
    rows = []
    for paper_regime, regime in regimes.items():
        for attack, method in sorted(attacks.items()):
            for distance, quantity in DISTANCES.items():
                key = (paper_regime, method, quantity)
                if key not in published.index or (regime, attack, distance) not in ours.index:
                    continue
                p, o = published.loc[key], ours.loc[(regime, attack, distance)]
                rows.append(
                    {
                        "table": int(p["table"]),
                        "regime": regime,
                        "paper_regime": paper_regime,
                        "attack": attack,
                        "paper_attack": method,
                        "distance": distance,
                        "paper_mean": p["mean"],
                        "paper_spread": p["spread"],
                        "mean": o["pooled_mean"],
                        "std_images": o["pooled_std"],
                        "std_fold_means": o["std"],
                        "images": int(o["images"]),
                        "folds": int(o["folds"]),
                        "ratio": o["pooled_mean"] / p["mean"] if p["mean"] else np.nan,
                        "within_paper_spread": bool(
                            abs(o["pooled_mean"] - p["mean"]) <= p["spread"] + PRINTED
                        ),
                    }
                )
    return pd.DataFrame(rows)


def _num(v, digits=2):
    return "n/a" if pd.isna(v) else f"{v:.{digits}f}"


def markdown(table: pd.DataFrame, caption: str) -> str:
    if table.empty:
        return f"{caption}\n\nNo regime or attack of this run has a counterpart in the paper's tables.\n"
    shown = pd.DataFrame(
        {
            "regime": table["regime"],
            "attack": table["attack"],
            "distance": table["distance"],
            "paper (Table)": [
                f"{m:.2f} ± {s:.2f} ({t})"
                for m, s, t in zip(table["paper_mean"], table["paper_spread"], table["table"], strict=True)
            ],
            "ours ± std over images": [
                "no successful adversarial" if n == 0 else f"{_num(m)} ± {_num(s)}"
                for m, s, n in zip(table["mean"], table["std_images"], table["images"], strict=True)
            ],
            "std of fold means": [
                _num(s, 3) if f > 1 else f"n/a ({f} fold{'s' * (f != 1)})"
                for s, f in zip(table["std_fold_means"], table["folds"], strict=True)
            ],
            "images": table["images"],
            "ours / paper": [_num(r) for r in table["ratio"]],
            "within paper's ±": ["yes" if w else "no" for w in table["within_paper_spread"]],
        }
    )
    legend = (
        "Paper: mean ± spread over images as printed (Pedraza, Deniz, Bueno 2021). Ours: over the "
        "successful adversarials of all folds pooled. `l2_pixel` is the L2 over one value per pixel "
        "(RMS of its channels), the paper's definition; `l2` is over every array element, √channels "
        "larger; both are compared with the paper's L2 (docs/paper.md)."
    )
    return f"{caption}\n\n{shown.to_markdown(index=False)}\n\n{legend}\n"
