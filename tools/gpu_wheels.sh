#!/usr/bin/env bash
# The wheels tools/gpu_check.sh carries to the lent H200 (no package index there): what the study
# needs beyond that machine's own packages (docs of the device tool: Python 3.12, JAX 0.11 with CUDA 13,
# numpy, scipy, pandas, h5py, seaborn, scikit-learn, statsmodels, pyyaml, jinja2, tabulate, rich …).
# Into .whl/ (git-ignored), pure-Python or cp312 manylinux x86-64 builds; prints their size (≤ 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
DEST=.whl
rm -rf "$DEST" && mkdir -p "$DEST"
# connection_pool (a snakemake dependency) is published as an sdist only: build its pure-Python wheel
"$PIP" wheel -q --no-deps -w "$DEST" connection_pool==0.0.3
"$PIP" download -q -d "$DEST" --find-links "$DEST" --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    keras==3.15.1 snakemake==9.27.1 mlxtend==0.25.0 jsonschema==4.26.0 adversarial-robustness-toolbox==1.20.1
# what the H200 image already holds (its KINDS.md list): two versions of one package stop the install
THERE="absl_py attrs certifi charset_normalizer click contourpy cycler filelock fonttools h5py idna
jinja2 joblib kiwisolver markdown_it_py markupsafe matplotlib mdurl ml_dtypes numpy packaging pandas
pillow platformdirs psutil pygments pyparsing python_dateutil pyyaml requests rich scikit_learn scipy
seaborn setuptools six tabulate threadpoolctl typing_extensions tzdata urllib3 wrapt narwhals tqdm
jax jaxlib opt_einsum protobuf"
for name in $THERE; do
    rm -f "$DEST/${name}"-[0-9]*.whl "$DEST/$(echo "$name" | tr _ -)"-[0-9]*.whl
done
ls "$DEST" | sed 's/-[0-9].*//' | tr '\n' ' '
echo
du -sh "$DEST"
