"""The paper's distance tables (Tables 2–5): L0/L2/Linf per attack, mean ± std over folds.

Thin data renders, marked: a std that needs two folds with successes reads "n/a (1 fold)", an attack
that broke nothing reads "no successful adversarial", and the `folds` column says how many folds had
successes out of how many were attacked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = {"l0": "L0 (pixels)", "l2": "L2", "l2_pixel": "L2 per pixel (paper's)", "linf": "Linf"}
NO_SUCCESS = "no successful adversarial"


def distance_table(summary: pd.DataFrame, regime: str) -> pd.DataFrame:
    """One row per attack: per distance the mean and std of the per-fold means and the std over images
    pooled across folds (`{q}_std_images`); successes per fold; folds with successes / folds attacked.

    Distances absent from the summary (older runs lack `l2_pixel`) are left out; every other cell of an
    attack without successes is NaN, never missing.
    """
    df = summary[summary["regime"] == regime].set_index(["attack", "quantity"])
    quantities = [q for q in COLUMNS if q in df.index.get_level_values("quantity")]

    def cell(attack, q, column):
        return df[column].get((attack, q), np.nan) if column in df.columns else np.nan

    rows = []
    for attack in sorted(df.index.get_level_values("attack").unique()):
        row = {
            "attack": attack,
            "folds": int(cell(attack, quantities[0], "folds")) if quantities else 0,
            "folds_attacked": int(cell(attack, "samples", "folds")),
        }
        for q in quantities:
            row[f"{q}_mean"], row[f"{q}_std"] = cell(attack, q, "mean"), cell(attack, q, "std")
            row[f"{q}_std_images"] = cell(attack, q, "pooled_std")
        row["samples_mean"], row["samples_std"] = (
            cell(attack, "samples", "mean"),
            cell(attack, "samples", "std"),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(mean, std, std_images, folds, digits, pm) -> str:
    if np.isnan(mean):
        return NO_SUCCESS
    spread = f"{std:.{digits}f}" if not np.isnan(std) else f"n/a ({folds} fold)"
    images = f" [{std_images:.{digits}f}]" if not np.isnan(std_images) else ""
    return f"{mean:.{digits}f} {pm} {spread}{images}"


def _formatted(table: pd.DataFrame, latex: bool) -> pd.DataFrame:
    pm = r"$\pm$" if latex else "±"
    out = pd.DataFrame({"attack": [a.replace("_", r"\_") if latex else a for a in table["attack"]]})
    for q, label in COLUMNS.items():
        if f"{q}_mean" not in table:
            continue
        digits = 1 if q == "l0" else 4
        images = table.get(f"{q}_std_images", pd.Series(np.nan, index=table.index))
        out[label] = [
            _cell(m, s, si, f, digits, pm)
            for m, s, si, f in zip(table[f"{q}_mean"], table[f"{q}_std"], images, table["folds"], strict=True)
        ]
    out["successful samples / fold"] = [f"{m:.1f}" for m in table["samples_mean"]]
    out["folds with successes"] = [
        f"{f} / {a}" for f, a in zip(table["folds"], table["folds_attacked"], strict=True)
    ]
    return out


LEGEND = (
    "Cells: mean ± std of the per-fold means [std over the successful adversarials of all folds pooled]; "
    '"n/a (1 fold)": only one fold had successes; "' + NO_SUCCESS + '": the attack broke nothing.'
)


def markdown(table: pd.DataFrame, caption: str) -> str:
    return f"{caption}\n\n{_formatted(table, latex=False).to_markdown(index=False)}\n\n{LEGEND}\n"


def latex(table: pd.DataFrame, caption: str) -> str:
    return _formatted(table, latex=True).to_latex(
        index=False,
        caption=f"{caption}. {LEGEND}".replace("_", r"\_").replace("±", r"$\pm$"),
        escape=False,
        label="tab:" + caption.split(":")[0].replace(" ", "-"),
    )
