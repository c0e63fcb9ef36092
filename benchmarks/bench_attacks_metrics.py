"""Batched CLEVER and CW against ART's own, on one LeNet-5 and the same images, plus whole-stage rates.

    .venv/bin/python benchmarks/bench_attacks_metrics.py [--quick] [--threads N] [--only-cw]

Trains a LeNet-5 on part of the embedded mnist5k set, then on the same model and images:
CLEVER: ART's clever_u twice (two seeds: ART's run-to-run spread) and ours twice, at equal
nb_batches x batch_size; CW: ART's CarliniL2Method at its defaults (batch_size 50), ours line-search
at the same settings (equal work, image-by-image agreement) and ours adam at its own defaults; the
same CW comparison again on the cached LeNet-5 of real CIFAR-10 (real_data.py). Also training
images/s and evaluation snapshots/s. Prints a table and writes it as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

import real_data

from robustcurves import art_adapter, data, models
from robustcurves.attacks import cw, cw_linesearch
from robustcurves.measures import clever
from robustcurves.stages import evaluate, prepare, train

COLLAPSED = 1e-3  # a CLEVER score this small is a failed Weibull fit, not a real bound (ART-NOTES.md)
SIZES = {  # quick / full
    "train_images": (1500, 4000),
    "epochs": (2, 4),
    "clever_samples": (2, 16),
    "clever": (  # norm 2, radius 2 as in config.yaml
        {"norm": 2, "radius": 2.0, "nb_batches": 50, "batch_size": 16},
        {"norm": 2, "radius": 2.0, "nb_batches": 50, "batch_size": 64},
    ),
    "cw_images": (20, 100),
    "cw_cifar10_images": (20, 200),
}


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def train_model(d: dict, n: int, epochs: int, workdir: Path):
    x, y = data.to_float(d["x_train"][:n]), d["y_train"][:n]
    x_test, y_test = data.to_float(d["x_test"]), d["y_test"]
    path = workdir / "snapshots.h5"
    history, seconds = timed(
        train.train,
        train.Split(x, y, x_test[:200], y_test[:200], x_test, y_test),
        classes=10,
        epochs=epochs,
        batch_size=32,
        learning_rate=1e-3,
        seed=0,
        snapshots_path=path,
    )
    snapshots = models.Snapshots(path)
    # evaluation stage: every snapshot on the whole test set, one model, weights swapped in
    evaluate.evaluate_snapshots(snapshots, x_test[:64], y_test[:64], {})  # trace once
    _, eval_seconds = timed(evaluate.evaluate_snapshots, snapshots, x_test, y_test, {})
    stages = {
        "train_images_per_s": n * epochs / seconds,
        "train_test_accuracy": float(history["test_accuracy"].iloc[-1]),
        "eval_snapshots": len(snapshots.epochs),
        "eval_test_images": len(x_test),
        "eval_snapshots_per_s": len(snapshots.epochs) / eval_seconds,
    }
    return snapshots.model(snapshots.epochs[-1]), x_test, y_test, stages


def diff(a: np.ndarray, b: np.ndarray) -> dict:
    """Per-sample |a - b| and |a - b| / mean(a, b): mean and median, over all samples and sound ones."""
    absd = np.abs(a - b)
    rel = absd / np.maximum((a + b) / 2, 1e-12)
    sound = (a > COLLAPSED) & (b > COLLAPSED)
    return {
        "mean_abs": float(absd.mean()),
        "median_abs": float(np.median(absd)),
        "mean_rel": float(rel.mean()),
        "median_rel": float(np.median(rel)),
        "mean_rel_sound": float(rel[sound].mean()) if sound.any() else float("nan"),
        "max_rel_sound": float(rel[sound].max()) if sound.any() else float("nan"),
    }


def bench_clever(model, x: np.ndarray, params: dict) -> dict:
    _, trace_s = timed(clever.clever_scores, model, x[:1], seed=99, **params)  # trace outside the timing
    runs, seconds = {}, {}
    with art_fit_recorder() as art_fits:
        for name, seed in (("art_a", 0), ("art_b", 1)):
            runs[name], seconds[name] = timed(art_adapter.clever, model, x, seed=seed, **params)
    with fit_timer() as fits:
        for name, seed in (("ours_a", 0), ("ours_b", 1)):
            runs[name], seconds[name] = timed(clever.clever_scores, model, x, seed=seed, **params)
    per_sample = {k: v / len(x) for k, v in seconds.items()}
    fit_s = fits["seconds"] / (2 * len(x))
    weibull_fits = bench_weibull(np.concatenate(fits["maxima"]))
    art_s = (per_sample["art_a"] + per_sample["art_b"]) / 2
    ours_s = (per_sample["ours_a"] + per_sample["ours_b"]) / 2
    return {
        "samples": len(x),
        "params": params,
        "ours_first_call_s": trace_s,
        "s_per_sample": {"art": art_s, "ours": ours_s},
        "speedup": art_s / ours_s,
        "ours_weibull_fit_s_per_sample": fit_s,
        "weibull": weibull_fits,
        "pool_norm_quantiles": pool_quantiles(model, x[:4], params),
        "art_vs_art": diff(runs["art_a"], runs["art_b"]),
        "ours_vs_art": {
            k: (diff(runs["ours_a"], runs["art_a"])[k] + diff(runs["ours_b"], runs["art_b"])[k]) / 2
            for k in diff(runs["art_a"], runs["art_b"])
        },
        "ours_vs_ours": diff(runs["ours_a"], runs["ours_b"]),
        "mean_score": {k: float(v.mean()) for k, v in runs.items()},
        "collapsed": {k: int((v <= COLLAPSED).sum()) for k, v in runs.items()},
        "fit_check": check_art_fits(
            model, x, art_fits, runs["art_a"], runs["art_b"], radius=params["radius"]
        ),
        "scores": {k: v.tolist() for k, v in runs.items()},
    }


@contextmanager
def fit_timer():
    """Seconds spent in our batched Weibull fits, and the maxima they were given."""
    original, total = clever.weibull.fit, {"seconds": 0.0, "maxima": []}

    def timed_fit(negated_maxima, *args):
        out, seconds = timed(original, negated_maxima, *args)
        total["seconds"] += seconds
        total["maxima"].append(-negated_maxima)
        return out

    clever.weibull.fit = timed_fit
    try:
        yield total
    finally:
        clever.weibull.fit = original


@contextmanager
def art_fit_recorder():
    """Every (batch maxima, (c, loc, scale)) that ART's clever_t fits, in call order."""
    import art.metrics.metrics as art_metrics

    original, fits = art_metrics.weibull_min, []

    class Recording:
        def fit(self, data, *args, **kwargs):
            params = original.fit(data, *args, **kwargs)
            fits.append((-np.asarray(data, np.float64), np.asarray(params, np.float64)))
            return params

    art_metrics.weibull_min = Recording()
    try:
        yield fits
    finally:
        art_metrics.weibull_min = original


def check_art_fits(model, x, fits, *scores, radius: float) -> dict:
    """Our fit check applied to ART's own fits: how many collapsed ART scores it rejects, how many
    sound ones it rejects too. ART fits the classes other than the predicted one in order, per image.
    """
    logits = model(x, training=False).numpy().astype(np.float64)
    classes = logits.shape[1]
    maxima = np.array([f[0] for f in fits])
    why = clever.fit_check(maxima, np.array([f[1] for f in fits]))
    loc = np.array([f[1][1] for f in fits])
    runs = len(fits) // (len(x) * (classes - 1))
    why, loc = why.reshape(runs, len(x), classes - 1), loc.reshape(runs, len(x), classes - 1)
    pred = logits.argmax(axis=1)
    others = np.array([[j for j in range(classes) if j != p] for p in pred])
    margin = logits[np.arange(len(x)), pred][:, None] - np.take_along_axis(logits, others, axis=1)
    out = {"fits": int(why.size), "rejected_fits": {r: int((why == r).sum()) for r in ("ks", "location")}}
    collapsed = rejected_collapsed = sound = rejected_sound = 0
    for run, art_scores in enumerate(scores[:runs]):
        per_class = np.minimum(-margin / loc[run], radius)
        reason = why[run][np.arange(len(x)), per_class.argmin(axis=1)]
        np.testing.assert_allclose(per_class.min(axis=1), art_scores, rtol=1e-5)  # the right fits
        bad = art_scores <= COLLAPSED
        collapsed, rejected_collapsed = (
            collapsed + bad.sum(),
            rejected_collapsed + (bad & (reason != "")).sum(),
        )
        sound, rejected_sound = sound + (~bad).sum(), rejected_sound + (~bad & (reason != "")).sum()
    out.update(
        collapsed=int(collapsed),
        collapsed_rejected=int(rejected_collapsed),
        sound=int(sound),
        sound_rejected=int(rejected_sound),
        ks_pvalue=clever.SETTINGS["ks_pvalue"],
    )
    return out


def bench_weibull(maxima: np.ndarray, c_init: float = 1.0) -> dict:
    """scipy's weibull_min.fit one row at a time (as ART) against weibull.fit on all rows at once."""
    from scipy.optimize import fmin
    from scipy.stats import weibull_min

    from robustcurves.measures import weibull

    ref, scipy_s = timed(lambda: np.array([weibull_min.fit(-m, c_init, optimizer=fmin) for m in maxima]))
    ours, ours_s = timed(weibull.fit, -maxima, c_init)
    return {
        "fits": len(maxima),
        "s_per_fit": {"scipy": scipy_s / len(maxima), "ours": ours_s / len(maxima)},
        "speedup": scipy_s / ours_s,
        "identical_fraction": float(np.mean(np.all(ours == ref, axis=1))),
        "max_abs_loc_diff": float(np.max(np.abs(ours[:, 1] - ref[:, 1]))),
    }


def pool_quantiles(model, x: np.ndarray, params: dict) -> dict:
    """Quantiles of one pool of margin-gradient norms per sample (runner-up class), ART's way and ours.

    Same distribution = same estimator: everything after the pool is the same numpy/scipy code.
    """
    import tensorflow as tf
    from art.utils import random_sphere

    classifier, q = art_adapter.classifier(model), [0.5, 0.9, 0.99, 1.0]
    pool = params["batch_size"] * 10
    logits = model(x, training=False).numpy()
    pred, runner_up = logits.argmax(axis=1), np.argsort(logits, axis=1)[:, -2]
    norms_fn = clever._pool_norms(model, x.shape[1:], pool, params["radius"], params["norm"], (0.0, 1.0))
    np.random.seed(0)
    art, ours = [], []
    for i in range(len(x)):
        points = random_sphere(pool, x[i].size, params["radius"], params["norm"]).reshape(pool, *x.shape[1:])
        points = np.clip((points + x[i]).astype(np.float32), 0.0, 1.0)
        grad = classifier.class_gradient(points, label=int(pred[i])) - classifier.class_gradient(
            points, label=int(runner_up[i])
        )
        art.append(np.quantile(np.linalg.norm(grad.reshape(pool, -1), axis=1), q))
        seed = tf.constant([7, i], tf.int64)
        norms = norms_fn(
            seed, x[i : i + 1], pred[i : i + 1].astype(np.int64), runner_up[i : i + 1].astype(np.int64)
        )
        ours.append(np.quantile(norms.numpy()[0], q))
    art, ours = np.array(art), np.array(ours)
    return {
        "quantiles": q,
        "art": art.tolist(),
        "ours": ours.tolist(),
        "max_rel_diff": float(np.max(np.abs(ours / art - 1))),
    }


def cw_quality(model, x, y, x_adv, seconds: float) -> dict:
    success = model(x_adv, training=False).numpy().argmax(axis=1) != y
    l2 = np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1)
    return {
        "s_per_image": seconds / len(x),
        "success_rate": float(success.mean()),
        "mean_l2": float(l2[success].mean()) if success.any() else float("nan"),
        "median_l2": float(np.median(l2[success])) if success.any() else float("nan"),
        "_success": success,
        "_l2": l2,
    }


def cw_agreement(a: dict, b: dict) -> dict:
    """Image by image: same success, and relative L2 difference (to `b`) where both succeeded."""
    both = a["_success"] & b["_success"]
    rel = np.abs(a["_l2"] - b["_l2"])[both] / np.maximum(b["_l2"][both], 1e-12)
    return {
        "success_identical": float(np.mean(a["_success"] == b["_success"])),
        "both_succeeded": int(both.sum()),
        "median_rel_l2_diff": float(np.median(rel)) if both.any() else float("nan"),
        "max_rel_l2_diff": float(rel.max()) if both.any() else float("nan"),
        "rel_l2_diff_over_1pct": int((rel > 0.01).sum()),
    }


def bench_cw(model, x, y, art_images: int | None = None) -> dict:
    """ART's CarliniL2Method at its defaults (batch 50) vs ours: line-search at ART's defaults (equal work)
    and adam at its own defaults (another attack: its strength beside ART's, not a speed claim).

    `art_images`: ART attacks only the first that many images (its batches of 50 are independent, so
    its seconds per image hold for the rest); success, L2 and agreement then compare those images."""
    n = len(x) if art_images is None else max(1, min(int(art_images), len(x)))
    from art.attacks.evasion import CarliniL2Method

    art = CarliniL2Method(art_adapter.classifier(model), targeted=False, verbose=False, batch_size=50)
    onehot = np.eye(int(model.output_shape[-1]), dtype=np.float32)[y]
    ours = {"line-search": cw_linesearch.carlini_wagner_l2_linesearch, "adam": cw.carlini_wagner_l2}
    res, trace_s = {}, {}
    for name, attack in ours.items():
        _, trace_s[name] = timed(attack, model, x[:2], y[:2])  # trace outside the timing
        adv, seconds = timed(attack, model, x, y)
        # like for like: quality on the images ART attacks, seconds per image from all of them
        res[name] = cw_quality(model, x[:n], y[:n], adv[:n], seconds * n / len(x))
    res["art"] = cw_quality(model, x[:n], y[:n], *timed(art.generate, x=x[:n], y=onehot[:n]))
    out = {
        "images": len(x),
        "art_images": n,
        "art_params": {"batch_size": 50, "other": "ART defaults"},
        "ours_params": {"line-search": cw_linesearch.DEFAULTS, "adam": cw.ADAM},
        "ours_first_call_s": trace_s,
        "speedup_line_search": res["art"]["s_per_image"] / res["line-search"]["s_per_image"],
        "agreement_line_search": cw_agreement(res["line-search"], res["art"]),
        "agreement_adam": cw_agreement(res["adam"], res["art"]),
    }
    for name in res:
        res[name].pop("_success"), res[name].pop("_l2")
    return {**out, **res}


def cw_rows(w: dict, data: str) -> list:
    a, ls, ad = w["art"], w["line-search"], w["adam"]
    g, gd = w["agreement_line_search"], w["agreement_adam"]
    return [
        (f"CW {data}: s/image (ART | ours line-search)", f"{a['s_per_image']:.4f}",
         f"{ls['s_per_image']:.4f}"),
        (f"CW {data}: speed-up, equal work", f"{w['speedup_line_search']:.1f}x", "target >= 20x"),
        (f"CW {data}: success (ART | line-search)", f"{a['success_rate']:.3f}",
         f"{ls['success_rate']:.3f}"),
        (f"CW {data}: mean L2 (ART | line-search)", f"{a['mean_l2']:.4f}", f"{ls['mean_l2']:.4f}"),
        (f"CW {data}: success identical | median rel L2 diff", f"{g['success_identical']:.3f}",
         f"{g['median_rel_l2_diff']:.2e}"),
        (f"CW {data}: max rel L2 diff | n > 1% (of {g['both_succeeded']})",
         f"{g['max_rel_l2_diff']:.2e}", f"{g['rel_l2_diff_over_1pct']}"),
        (f"CW {data}: ours adam (own defaults): s/image", "", f"{ad['s_per_image']:.4f}"),
        (f"CW {data}: success (ART | adam)", f"{a['success_rate']:.3f}", f"{ad['success_rate']:.3f}"),
        (f"CW {data}: mean L2 (ART | adam)", f"{a['mean_l2']:.4f}", f"{ad['mean_l2']:.4f}"),
        (f"CW {data}: adam vs ART success identical | median rel L2 diff",
         f"{gd['success_identical']:.3f}", f"{gd['median_rel_l2_diff']:.2e}"),
    ]  # fmt: skip


def table(r: dict) -> str:
    rows = clever_rows(r["clever"]) if "clever" in r else []
    rows += (cw_rows(r["cw"], "mnist5k") if "cw" in r else []) + cw_rows(r["cw_cifar10"], "CIFAR-10")
    if "stages" in r:
        s = r["stages"]
        rows += [
            ("training images/s", f"{s['train_images_per_s']:.0f}",
             f"test acc {s['train_test_accuracy']:.3f}"),
            ("evaluation snapshots/s", f"{s['eval_snapshots_per_s']:.1f}",
             f"{s['eval_snapshots']} snapshots x {s['eval_test_images']} images"),
        ]  # fmt: skip
    width = max(len(a) for a, _, _ in rows)
    lines = [f"{'':{width}}  {'ART / value':>22}  {'ours / note':>24}"]
    lines += [f"{a:{width}}  {b:>22}  {d:>24}" for a, b, d in rows]
    return "\n".join(lines)


def clever_rows(c: dict) -> list:
    rows = [
        (
            "CLEVER s/sample (ART | ours)",
            f"{c['s_per_sample']['art']:.3f}",
            f"{c['s_per_sample']['ours']:.4f}",
        ),
        ("CLEVER speed-up", f"{c['speedup']:.1f}x", "target >= 20x"),
        (
            "Weibull fits s/fit (scipy one by one | ours batched)",
            f"{c['weibull']['s_per_fit']['scipy']:.5f}",
            f"{c['weibull']['s_per_fit']['ours']:.5f}",
        ),
        (
            "Weibull fits speed-up | identical to scipy",
            f"{c['weibull']['speedup']:.1f}x",
            f"{c['weibull']['identical_fraction']:.1%} of {c['weibull']['fits']}",
        ),
        (
            "CLEVER pool gradient-norm quantiles, max rel diff",
            "",
            f"{c['pool_norm_quantiles']['max_rel_diff']:.4f}",
        ),
        (
            "CLEVER mean score (ART a,b | ours a,b)",
            f"{c['mean_score']['art_a']:.4f}, {c['mean_score']['art_b']:.4f}",
            f"{c['mean_score']['ours_a']:.4f}, {c['mean_score']['ours_b']:.4f}",
        ),
        (
            "CLEVER collapsed scores (ART a,b | ours a,b)",
            f"{c['collapsed']['art_a']}, {c['collapsed']['art_b']}",
            f"{c['collapsed']['ours_a']}, {c['collapsed']['ours_b']}",
        ),
    ]
    k = c["fit_check"]
    rows += [
        (
            "CLEVER fit check on ART's scores: collapsed rejected",
            f"{k['collapsed_rejected']} of {k['collapsed']}",
            f"K-S p < {k['ks_pvalue']} or location",
        ),
        ("CLEVER fit check on ART's scores: sound rejected", f"{k['sound_rejected']} of {k['sound']}", ""),
        (
            "CLEVER fits rejected (K-S | location)",
            f"{k['rejected_fits']['ks']} | {k['rejected_fits']['location']}",
            f"of {k['fits']}",
        ),
    ]
    for key, label in (
        ("mean_abs", "mean |diff|"),
        ("median_abs", "median |diff|"),
        ("mean_rel", "mean rel diff"),
        ("median_rel", "median rel diff"),
        ("mean_rel_sound", "mean rel diff, sound only"),
        ("max_rel_sound", "max rel diff, sound only"),
    ):
        rows.append(
            (
                f"CLEVER {label} (ART-ART | ours-ART)",
                f"{c['art_vs_art'][key]:.4f}",
                f"{c['ours_vs_art'][key]:.4f}",
            )
        )
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under 2 minutes on 2 cores")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TensorFlow threads")
    parser.add_argument("--only-cw", action="store_true", help="skip CLEVER (the CW rows and stages only)")
    parser.add_argument("--art-images", type=int, help="ART's CW on only the first N images of each set")
    parser.add_argument("--cifar10-only", action="store_true", help="the real CIFAR-10 CW rows only")
    args = parser.parse_args(argv)
    pick = {k: v[0] if args.quick else v[1] for k, v in SIZES.items()}
    models.configure(threads=args.threads, seed=0)
    start = time.perf_counter()

    result = {
        "quick": args.quick,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "versions": _versions(),
    }
    if not args.cifar10_only:
        d = prepare.mnist5k(0, 0.2)
        with tempfile.TemporaryDirectory() as tmp:
            trained = train_model(d, pick["train_images"], pick["epochs"], Path(tmp))
        model, x_test, y_test, result["stages"] = trained
        correct = np.flatnonzero(model(x_test, training=False).numpy().argmax(axis=1) == y_test)
        x, y = x_test[correct], y_test[correct]
        if not args.only_cw:
            result["clever"] = bench_clever(model, x[: pick["clever_samples"]], pick["clever"])
        result["cw"] = bench_cw(model, x[: pick["cw_images"]], y[: pick["cw_images"]], args.art_images)
    # natural images: conclusions drawn on mnist5k do not carry over (benchmarks/real_data.py)
    model, x_test, y_test = real_data.cifar10_lenet()
    x, y = real_data.correctly_classified(model, x_test, y_test, pick["cw_cifar10_images"])
    result["cw_cifar10"] = bench_cw(model, x, y, args.art_images)
    result["total_s"] = time.perf_counter() - start
    print(table(result))
    print(f"total {result['total_s']:.0f} s")
    only = "_cifar10" if args.cifar10_only else "_cw" if args.only_cw else ""
    name = f"bench_attacks_metrics{only}{'_quick' if args.quick else ''}.json"
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


def _versions() -> dict:
    import art
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "art": art.__version__}


if __name__ == "__main__":
    main()
