"""A rule job's start, in the order Keras needs it: the backend's environment variables (read once, before
Keras is imported), ART before logging is set up, the job's logging, then `backend.configure` and the
provenance record. Also the conda environment each backend's jobs run in. What is specific to one
backend and must be known before Keras loads lives here; everything after, in `backend`."""

from __future__ import annotations

import json
import logging
import os
import sys

# the Keras jobs' conda env (--use-conda), relative to workflow/rules: TensorFlow's CPU or CUDA build,
# or JAX's (docs/gpu.md)
ANALYSIS_ENV = "../../envs/analysis.yaml"


def conda_env(compute: dict) -> str:
    """The conda environment file of the Keras jobs for the config's `compute` section."""
    name = "jax" if compute["backend"] == "jax" else "tensorflow-gpu" if compute["gpu"] else "tensorflow"
    return f"../../envs/{name}.yaml"


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


def start(rule: str, compute: dict, allotted: int, config: dict, *, keras: bool) -> logging.Logger:
    """Set up one job of `rule` whose output already goes to its log; returns the rule's logger.

    `compute` is the rule's `compute` param (common.smk: compute_params: backend, threads, GPU request
    and fallback, XLA), `allotted` the cores Snakemake gave the job. A `keras` job also gets its backend
    before Keras is imported, the config's thread count, its devices logged, and a stop at once if it
    asked for a missing GPU (`backend.configure`).
    """
    # The config's thread count, not Snakemake's allocation (which --cores can lower): the thread count
    # changes the numbers, and the param records the config's.
    threads = int(compute.get("threads", allotted))
    backend_name = compute.get("backend", "tensorflow")
    if keras:
        # Keras reads its backend, and JAX its memory and determinism flags, once: before any import
        os.environ.update(environment(backend_name, threads=threads, gpu=compute.get("gpu", 0)))
    if keras and backend_name == "tensorflow":
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
        # only now: importing Keras (through backend) fixes the backend chosen above
        from robustcurves.backend import configure
        from robustcurves.stages.provenance import provenance

        if threads > allotted:
            logging.getLogger("rule").warning(
                "running with compute.threads = %d although Snakemake gave this job %d (--cores): the "
                "thread count changes the numbers, so the config's is kept",
                threads,
                allotted,
            )
        configure(
            threads=threads,
            gpu_requested=int(compute.get("gpu", 0)),
            allow_cpu_fallback=bool(compute.get("allow_cpu_fallback", False)),
            xla=bool(compute.get("xla", False)),
        )
        # this job's own machine and versions (on a cluster the jobs of one run may differ in both)
        record = provenance(config, threads=threads, backend=backend_name)
        logging.getLogger("rule").info("provenance: %s", json.dumps(record, sort_keys=True))
    return logging.getLogger(f"rule.{rule}")
