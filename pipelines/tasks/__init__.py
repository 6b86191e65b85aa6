"""Stage 2, tasks: the one task type, the one in-memory field, the one sampler family.

``task`` (:class:`Task`, the sampler protocol, assembling with the one padding rule),
``field`` (:class:`Field`: one split of a store in memory), ``sampler`` (:class:`CellSampler`:
random windows, fraction or count of stations, land-only, real layouts), ``fixed`` (seeded
task lists for validation and test) and ``layout`` (station layouts from CSV). Training,
production evaluation and the paper experiments all draw their tasks here.
"""
