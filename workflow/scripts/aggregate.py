from common import setup

log = setup(snakemake)

from robustcurves import io
from robustcurves.stages import aggregate

frames = aggregate.read_fold_frames(snakemake.input, snakemake.params.fold_keys)
name = snakemake.wildcards.summary
summary = getattr(aggregate, name)(frames)
log.info("%s: %d rows from %d fold files", name, len(summary), len(frames))
io.write_csv(summary, snakemake.output[0])
