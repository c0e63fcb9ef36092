"""Which epochs and images get measured: the epochs that get expensive metrics, and the test images that
attacks and metrics use, drawn so that the regimes of a fold pair."""

import numpy as np

from robustcurves import seeding


def metric_epochs(epochs: list[int], every: int) -> list[int]:
    """Every k-th epoch, always including the last one."""
    chosen = [e for e in epochs if e % every == 0]
    return chosen if chosen and chosen[-1] == epochs[-1] else [*chosen, epochs[-1]]


def attack_indices(correct: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Test indices to attack, sorted: the first `samples` correctly classified ones in an order drawn
    with the seed.

    The regimes of a fold share the seed, hence the order: they attack the same images wherever both
    classify them correctly, which pairs the regimes image by image (the claims' image-level tests).
    """
    order = np.random.default_rng(seed).permutation(len(correct))
    return np.sort(order[np.asarray(correct, bool)[order]][:samples])


def metric_indices(test_size: int, samples: int, seed: int) -> np.ndarray:
    """The metric images of a fold: `samples` test indices drawn with the seed, sorted.

    Not conditioned on any snapshot's correctness, so every regime and epoch of a fold measures the
    same images (a paired design).
    """
    if test_size <= samples:
        return np.arange(test_size)
    return np.sort(np.random.default_rng(seed).choice(test_size, samples, replace=False))


def fold_images(
    test_size: int, samples: int, seed: int, dataset: str, fold, purpose: str
) -> tuple[np.ndarray, int]:
    """A fold's images for one purpose ("robustness", "whitebox"): (sorted test indices, their seed).

    The seed derives from the dataset, fold and purpose, the regime left out: every regime and epoch of
    a fold is measured on the same images with the same random numbers (a paired design).
    """
    fold_seed = seeding.derive(seed, dataset, fold, purpose)
    return metric_indices(test_size, samples, fold_seed), fold_seed


def metric_images(test_size: int, samples: int, seed: int, dataset: str, fold) -> tuple[np.ndarray, int]:
    """A fold's metric images: the robustness stage measures every snapshot on them, and the evaluate
    stage checks the same snapshots' gradients there (`fold_images` for "robustness")."""
    return fold_images(test_size, samples, seed, dataset, fold, "robustness")
