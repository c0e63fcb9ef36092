"""Shared start of every rule script: library on the path, logging into the rule's log, TF threads."""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(snakemake, tensorflow: bool = False):
    """Route logging (and uncaught errors) to the job's log file; size TensorFlow to the job's threads."""
    if tensorflow:
        # ART reconfigures logging when first imported, dropping our handlers: import it first.
        import art  # noqa: F401
    # The job's progress goes to its log; the console (shared by parallel jobs) gets warnings and errors.
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if snakemake.log else logging.INFO)
    handlers = [console]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    def excepthook(kind, value, tb):
        logging.getLogger("rule").error("%s: %s", kind.__name__, value, exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    if tensorflow:
        from robustcurves.models import configure

        configure(threads=snakemake.threads)
    return logging.getLogger(f"rule.{snakemake.rule}")
