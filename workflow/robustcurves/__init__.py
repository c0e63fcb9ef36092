"""robustcurves: how robustness to adversarial examples evolves while a network trains.

The library behind the Snakemake workflow; it never imports Snakemake, so every stage can be called
from Python or a notebook on its own.
"""
