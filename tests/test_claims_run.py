"""The statistics rule through `snakemake` on hand-written artefacts (issue 27): the six examples of the
issue, each a dataset whose per-fold records the test writes, get honest verdicts in claims.csv."""

import numpy as np
import pandas as pd
import pytest
import yaml
from claims_utils import effect_study, study, write_study

from workflow_utils import snakemake, workflow_copy

pytestmark = pytest.mark.slow


def one_large_fold():
    """Fold 0: 1,000 images attacked, the overfit regime fooled on 200 fewer (−0.2); folds 1–4: one image
    each, fooled in both regimes (0)."""
    frames = study(lambda r, f, e, a: 0.3 if (r == "overfit" and f == 0) else 0.5, images=1000, epochs=(1, 2))
    images = frames["images"]
    frames["images"] = images[(images["fold"] == 0) | (images["test_index"] == 0)]
    return frames


def wb_inf(r, f, e, a, i):
    if r == "overfit":
        return 0.9 if e == 1 else np.inf if i < 14 else 2.0
    return 1.0 + 0.01 * i


STUDIES = {
    # "stays level" on an inverted U peaking at 0.90, 0.03 an epoch down on both sides
    "inverted_u": lambda: study(lambda r, f, e, a: 0.9 - 0.03 * abs(e - 8), epochs=range(1, 16)),
    # exactly constant in all folds, and four constant folds beside one that wiggles by one image
    "constant": lambda: study(lambda r, f, e, a: 0.37),
    "wiggle": lambda: study(lambda r, f, e, a: 0.37 + (0.01 if f == 4 and e % 2 else 0)),
    # accuracy falling while CW ASR rises; and both falling
    "opposite": lambda: study(lambda r, f, e, a: 0.3 + 0.05 * e, accuracy=lambda r, f, e: 0.9 - 0.05 * e),
    "together": lambda: study(lambda r, f, e, a: 0.7 - 0.05 * e, accuracy=lambda r, f, e: 0.9 - 0.05 * e),
    # CW resisted (inf) on most of the overfit regime's images at two of three epochs
    "cw_inf": lambda: study(lambda r, f, e, a: 0.5, minimal=wb_inf, epochs=(1, 2, 3)),
    # a snapshot that classifies no white-box image correctly
    "empty": lambda: study(
        lambda r, f, e, a: 0.5, correct=lambda r, f, e, i: not (r == "overfit" and f == 1 and e == 2)
    ),
    "one_large_fold": one_large_fold,
    # a real effect in every primary claim, with fold and image noise: decided after Holm with 5 folds
    "effect": lambda: effect_study(0.1),
}


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    work = workflow_copy(tmp_path_factory.mktemp("claims"))
    config = {
        "datasets": {name: {"kind": "mnist5k"} for name in STUDIES},
        "folds": 5,
        "statistics": {"warmup": 0},
    }
    (work / "claims.yaml").write_text(yaml.safe_dump(config))
    for name, make in STUDIES.items():
        write_study(make(), work, name)
    targets = [f"results/{name}/tables/claims.csv" for name in STUDIES]
    snakemake(work, *targets, "--configfile", "claims.yaml", "--allowed-rules", "statistics")
    return {name: pd.read_csv(work / t).set_index("claim") for name, t in zip(STUDIES, targets, strict=True)}


LEVEL = "In the overfit regime, cw ASR stays level"
RISES = "In the normal regime, cw ASR rises as test accuracy rises"


def test_level_is_equivalence_in_asr_units(claims):
    assert claims["inverted_u"].loc[LEVEL, "verdict"] == "not supported"
    constant, wiggle = claims["constant"].loc[LEVEL], claims["wiggle"].loc[LEVEL]
    assert constant["verdict"] == wiggle["verdict"] == "supported"
    assert constant["p_value"] <= wiggle["p_value"]  # never weaker the flatter the curve


def test_asr_rises_with_accuracy_relates_the_two(claims):
    assert claims["opposite"].loc[RISES, "verdict"] == "not supported"
    assert claims["together"].loc[RISES, "verdict"] == "supported"


def test_whitebox_censoring_and_empty_snapshots(claims):
    row = claims["cw_inf"].loc["The overfit regime is more robust under white-box cw (minimal L2 higher)"]
    assert row["verdict"] == "supported"
    empty = claims["empty"].loc["The overfit regime is more robust under white-box cw (minimal L2 higher)"]
    assert "1 empty (overfit fold 1 epoch 2)" in empty["excluded"]


def test_one_large_fold_does_not_decide(claims):
    row = claims["one_large_fold"].loc["cw ASR is lower when overfitting (more robust)"]
    assert row["verdict"] == "inconclusive" and "1004 images in 5 folds (1–1000 per fold)" in row["evidence"]
    assert "cannot tell an effect below" in row["evidence"]


def test_the_primary_family_decides_with_five_folds(claims):
    table = claims["effect"]
    primary = table[table["family"] == "primary"]
    assert len(primary) == 6 and (primary["verdict_holm"] == "supported").all()
    assert set(table["family"]) == {"primary", "secondary", "check"}
    assert table.columns.tolist()[:4] == ["id", "family", "kind", "verdict"]
