"""benchmarks/side_by_side.py's bookkeeping on hand-made run folders: job CPU from the benchmark files, and
the byte-for-byte comparison of two result trees."""

import importlib.util
import sys

from workflow_utils import ROOT

_spec = importlib.util.spec_from_file_location("side_by_side", ROOT / "benchmarks/side_by_side.py")
side_by_side = sys.modules["side_by_side"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(side_by_side)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_job_cpu_sums_every_benchmark_file_and_counts_the_jobs(tmp_path):
    write(tmp_path / "logs/benchmarks/train/a.tsv", HEADER + "1\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t2.5\n")
    write(tmp_path / "logs/benchmarks/craft/x/b.tsv", HEADER + "1\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t4.0\n")
    assert side_by_side.job_cpu(tmp_path) == (6.5, 2)


def test_result_trees_are_compared_byte_for_byte(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        write(run / "results/d/same.csv", "x\n1\n")
    write(a / "results/d/changed.csv", "x\n1\n")
    write(b / "results/d/changed.csv", "x\n2\n")
    write(a / "resources/d.h5", "base only")
    write(b / "results/d/new.csv", "change only")
    assert side_by_side.differing(a, b) == {
        "differ": ["results/d/changed.csv"],
        "only_base": ["resources/d.h5"],
        "only_change": ["results/d/new.csv"],
        "same": 1,
    }
