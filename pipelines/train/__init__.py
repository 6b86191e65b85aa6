"""Stage 3, training: run configuration, the generic resumable loop, a store -> a bundle.

``config`` (run configuration file + overrides, :class:`TrainConfig`), ``loop`` (``fit``),
``state`` (the resumable state directory), ``distributed`` (DDP) and ``run`` (train a model
on a store and write its bundle).
"""
