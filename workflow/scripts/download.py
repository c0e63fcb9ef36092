from common import setup

log = setup(snakemake)

from robustcurves.stages import download

p = snakemake.params
log.info("downloading %s (sha256 %s)", p.url, p.sha256)
# A dropped connection resumes from the .part file; the output appears only once its checksum matches.
download.download(p.url, snakemake.output[0], p.sha256, log=log.info, attempts=5)
log.info("verified %s", snakemake.output[0])
