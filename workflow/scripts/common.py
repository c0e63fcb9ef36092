"""Shared start of every rule script: all output into the job's log, Keras set-up. The library,
robustcurves, is installed with the project (Snakemake hands its own import path to every script)."""

import json
import logging
import os
import sys


def environment(backend: str, *, threads: int | None, gpu: int) -> dict[str, str]:
    """Environment variables a Keras job sets before Keras is imported: the backend, and what JAX and
    torch read only at start (threads, GPU memory, deterministic GPU kernels)."""
    env = {"KERAS_BACKEND": backend}
    if backend == "jax":
        # several jobs share one GPU: allocate as needed instead of 75 % of it up front
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        flags = ["--xla_gpu_deterministic_ops=true"] if gpu else []
        if threads == 1:
            flags.append("--xla_cpu_multi_thread_eigen=false")
        env["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *flags]).strip()
    if backend == "torch":
        # cuBLAS's deterministic workspace, which torch.use_deterministic_algorithms asks for
        env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    return env


def setup(snakemake, keras: bool = False):
    """Send all the job writes (logging, warnings, errors, TensorFlow's own notices) to its log file,
    as a shell rule's `2> {log}` would. A `keras` job also gets its backend before Keras is imported,
    the config's thread count, its devices logged, and a stop at once if it asked for a missing GPU."""
    if snakemake.log:
        # at the file-descriptor level, so TensorFlow's C++ output lands there too, not in the console
        # that parallel jobs share with Snakemake
        fd = os.open(snakemake.log[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    # the rule's `compute` param (common.smk: compute_params): backend, threads, GPU request and
    # fallback, XLA
    compute = dict(getattr(snakemake.params, "compute", None) or {})
    # The config's thread count, not Snakemake's allocation (which --cores can lower): the thread count
    # changes the numbers, and the param records the config's.
    threads = int(compute.get("threads", snakemake.threads))
    backend = compute.get("backend", "tensorflow")
    if keras:
        # Keras reads its backend, and JAX its memory and determinism flags, once: before any import
        os.environ.update(environment(backend, threads=threads, gpu=compute.get("gpu", 0)))
    if keras and backend == "tensorflow":
        # ART reconfigures logging when first imported, dropping our handlers: import it first.
        import art  # noqa: F401
    logging.basicConfig(
        level=logging.INFO,
        handlers=[logging.StreamHandler(sys.stderr)],
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    def excepthook(kind, value, tb):
        logging.getLogger("rule").error("%s: %s", kind.__name__, value, exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    if keras:
        from robustcurves.backend import configure

        if threads > snakemake.threads:
            logging.getLogger("rule").warning(
                "running with compute.threads = %d although Snakemake gave this job %d (--cores): the "
                "thread count changes the numbers, so the config's is kept",
                threads,
                snakemake.threads,
            )
        configure(
            threads=threads,
            gpu_requested=int(compute.get("gpu", 0)),
            allow_cpu_fallback=bool(compute.get("allow_cpu_fallback", False)),
            xla=bool(compute.get("xla", False)),
        )
        from robustcurves.provenance import provenance

        # this job's own machine and versions (on a cluster the jobs of one run may differ in both)
        record = provenance(snakemake.config, threads=threads, backend=backend)
        logging.getLogger("rule").info("provenance: %s", json.dumps(record, sort_keys=True))
    return logging.getLogger(f"rule.{snakemake.rule}")
