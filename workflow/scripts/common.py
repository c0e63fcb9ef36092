"""Shared start of every rule script: all the job writes into its log, then the job's set-up
(robustcurves/job.py). The library is installed with the project (Snakemake hands its own import path to
every script)."""

import os


def setup(snakemake, keras: bool = False):
    """Send all the job writes (logging, warnings, errors, TensorFlow's own notices) to its log file,
    as a shell rule's `2> {log}` would, and set the job up (`job.start`); returns the rule's logger."""
    if snakemake.log:
        # at the file-descriptor level, so TensorFlow's C++ output lands there too, not in the console
        # that parallel jobs share with Snakemake
        fd = os.open(snakemake.log[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    from robustcurves import job  # after the redirection: whatever it imports writes to the log

    compute = dict(getattr(snakemake.params, "compute", None) or {})
    return job.start(snakemake.rule, compute, snakemake.threads, snakemake.config, keras=keras)
