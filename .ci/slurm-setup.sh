#!/usr/bin/env bash
# Installs a single-node SLURM (Debian's packages) for the cluster test. Idempotent.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
