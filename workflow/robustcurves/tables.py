"""The paper's distance tables (Tables 2–5): L0/L2/Linf per attack, mean ± std over folds."""

from __future__ import annotations

import pandas as pd

from .io import write_csv, write_text

COLUMNS = {"l0": "L0 (pixels)", "l2": "L2", "linf": "Linf"}


def distance_table(summary: pd.DataFrame, regime: str) -> pd.DataFrame:
    """One row per attack: mean and std over folds of the per-fold mean distance, and sample counts."""
    df = summary[summary["regime"] == regime]
    wide = df.pivot_table(index="attack", columns="quantity", values=["mean", "std"], aggfunc="first")
    rows = []
    for attack in wide.index:
        l2 = df[(df["attack"] == attack) & (df["quantity"] == "l2")]
        row = {"attack": attack, "folds": int(l2["folds"].iloc[0]) if len(l2) else 0}
        for q in (*COLUMNS, "samples"):
            row[f"{q}_mean"], row[f"{q}_std"] = wide.loc[attack, ("mean", q)], wide.loc[attack, ("std", q)]
        rows.append(row)
    return pd.DataFrame(rows)


def _formatted(table: pd.DataFrame, latex: bool) -> pd.DataFrame:
    pm = r"$\pm$" if latex else "±"
    out = pd.DataFrame({"attack": [a.replace("_", r"\_") if latex else a for a in table["attack"]]})
    for q, label in COLUMNS.items():
        digits = 1 if q == "l0" else 4
        out[label] = [
            f"{m:.{digits}f} {pm} {s:.{digits}f}"
            for m, s in zip(table[f"{q}_mean"], table[f"{q}_std"].fillna(0), strict=True)
        ]
    out["successful samples / fold"] = [f"{m:.1f}" for m in table["samples_mean"]]
    out["folds"] = table["folds"]
    return out


def write(table: pd.DataFrame, csv, md, tex, caption: str) -> None:
    write_csv(table, csv)
    write_text(f"{caption}\n\n{_formatted(table, latex=False).to_markdown(index=False)}\n", md)
    latex = _formatted(table, latex=True).to_latex(
        index=False, caption=caption, escape=False, label="tab:" + caption.split(":")[0].replace(" ", "-")
    )
    write_text(latex, tex)
