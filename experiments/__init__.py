"""The paper reproduction (Ashman et al., NeurIPS 2024): drivers, peers, figures, results.

Not part of the installed package: run from the repository root as
``python3 -m experiments NAME`` (one experiment, merged into
``benchmarks/results/science.json``) and ``python3 -m experiments render`` (that file into
``docs/results.md``). ERA5 experiments ingest the shared files into stores under
``runs/stores`` (:mod:`.data`) and draw their tasks with :mod:`pipelines.tasks`; every
predictor is scored by :mod:`pipelines.evaluate.scores`, as production evaluation is.
"""
