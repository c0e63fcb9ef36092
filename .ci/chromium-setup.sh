#!/usr/bin/env bash
# Installs headless Chromium (Debian's package) for the report test (tests/test_report.py). Idempotent.
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
