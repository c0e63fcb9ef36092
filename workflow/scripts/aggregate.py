from common import setup

log = setup(snakemake)

import re

import pandas as pd

from robustcurves import aggregate, io

# Fold outputs are identified by their paths: results/{dataset}/{regime}/fold{k}/...[/{attack}.csv]
PATH = re.compile(r"results/[^/]+/(?P<regime>[^/]+)/fold(?P<fold>\d+)/(?:distances/(?P<attack>[^/]+)\.csv)?")
frames = {}
for path in snakemake.input:
    m = PATH.search(path)
    key = (m["regime"], int(m["fold"])) + ((m["attack"],) if m["attack"] else ())
    frames[key] = pd.read_csv(path)
name = snakemake.wildcards.summary
summary = getattr(aggregate, name)(frames)
log.info("%s: %d rows from %d fold files", name, len(summary), len(frames))
io.write_csv(summary, snakemake.output[0])
