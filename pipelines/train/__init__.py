"""Stage 3, training: run configuration, the generic resumable loop, a store -> a bundle.

``config`` (run configuration file + overrides, :class:`TrainConfig`), ``loop`` (``fit``),
``state`` (the resumable state directory), ``distributed`` (DDP), ``run`` (train a model
on a store and write its bundle) and ``world`` (train the world model on the shared data's
mixture of sources); ``equigrid train`` runs both.
"""
