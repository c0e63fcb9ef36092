"""Progress lines in the job logs: counts, rate and ETA."""

import logging

import pytest

from robustcurves.progress import Progress, duration


def test_rate_and_eta_from_the_mean_speed_since_the_start():
    now = [100.0]
    p = Progress(35, "epochs", clock=lambda: now[0])
    now[0] += 20
    assert p.update() == "1/35 epochs (3%) in 0:00:20, 20 s/epoch, ETA 0:11:20"
    now[0] += 10
    assert p.update(2) == "3/35 epochs (9%) in 0:00:30, 10 s/epoch, ETA 0:05:20"
    fast = Progress(1000, "images", clock=lambda: now[0])
    now[0] += 2
    assert fast.update(512) == "512/1000 images (51%) in 0:00:02, 256 images/s, ETA 0:00:02"


def test_a_resumed_run_counts_only_its_own_epochs_for_the_rate():
    now = [0.0]
    p = Progress(10, "epochs", done=6, clock=lambda: now[0])
    now[0] += 5
    assert p.update() == "7/10 epochs (70%) in 0:00:05, 5 s/epoch, ETA 0:00:15"
    assert duration(3725) == "1:02:05"


@pytest.mark.parametrize("algorithm", ["adam", "line-search"])
def test_cw_logs_progress_per_chunk(caplog, algorithm):
    from conftest import separable
    from robustcurves.attacks.cw import cw
    from robustcurves.models import lenet5

    x, y = separable(n=10, shape=(16, 16, 1))
    model = lenet5(x.shape[1:], 3)
    with caplog.at_level(logging.INFO, logger="robustcurves.attacks"):
        cw(model, x, y, seed=0, algorithm=algorithm, binary_search_steps=1, max_iter=2, batch_size=4)
    lines = [r.getMessage() for r in caplog.records if "CW-L2" in r.getMessage()]
    assert [line.split(" (")[0] for line in lines] == [
        "CW-L2: 4/10 images",
        "CW-L2: 8/10 images",
        "CW-L2: 10/10 images",
    ]
    assert all("ETA" in line for line in lines) and lines[-1].endswith("ETA 0:00:00")
