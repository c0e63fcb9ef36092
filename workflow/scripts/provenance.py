from common import setup

log = setup(snakemake)

from robustcurves import io
from robustcurves.stages import provenance

p = snakemake.params
# written after every figure and table of the dataset (the rule's inputs): commit, versions, machine
record = provenance.provenance(p.config, seed=p.seed, threads=p.threads, backend=p.backend)
record["model"] = dict(p.model)
record["artifacts"] = sorted(snakemake.input)
log.info(
    "provenance: commit %s, %s threads, backend %s", record["commit"], record["threads"], record["backend"]
)
io.write_json(record, snakemake.output[0])
