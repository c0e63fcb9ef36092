"""A stratified subset of a dataset's arrays, for a reduced run on real data (e.g. ResNet-20 on
CIFAR-10 in a CPU session: docs/models.md). Write it outside the project.

    python benchmarks/subset.py ../shared/data/cifar10.npz /tmp/cifar10-10k.npz --train 10000 --test 2000
"""

import argparse
import sys

import numpy as np
from sklearn.model_selection import train_test_split


def subset(x, y, n: int, seed: int):
    if n >= len(y):
        return x, y
    _, x_kept, _, y_kept = train_test_split(x, y, test_size=n, stratify=y, random_state=seed)
    return x_kept, y_kept


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("dest")
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--test", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with np.load(args.source) as d:
        x_train, y_train = subset(d["x_train"], d["y_train"], args.train, args.seed)
        x_test, y_test = subset(d["x_test"], d["y_test"], args.test, args.seed)
    np.savez(args.dest, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    counts = np.bincount(y_train)
    print(f"{args.dest}: {len(y_train)} training and {len(y_test)} test images, per class {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
