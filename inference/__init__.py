"""The inference core (layer 1): everything a prediction needs, and nothing of training.

Bundles (:mod:`.bundle`), the :class:`~inference.predictor.Predictor` (stations + targets ->
mean, variance, flags, notes), target grids (:mod:`.targets`), DEM reading and resampling
(:mod:`.dem`), CF output (:mod:`.cf`), units (:mod:`.units`), the one station validator
(:mod:`.stations`), atomic files (:mod:`.files`), the error base class (:mod:`.errors`) and
the one map renderer of the service and batch plots (:mod:`.maps`).
It imports only :mod:`models`; the service, the pipelines and the CLI stand on it.
"""
