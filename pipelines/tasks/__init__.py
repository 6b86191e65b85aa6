"""Stage 2, tasks: the one task type, the one in-memory field, the one sampler family.

``task`` (:class:`Task`, the sampler protocol, assembling with the one padding rule),
``field`` (:class:`Field`: one split of a store in memory), ``sampler`` (:class:`CellSampler`:
random windows, fraction or count of stations, land-only, real layouts), ``fixed`` (seeded
task lists for validation and test), ``layout`` (station layouts from CSV), and the world
model's sources: ``sources`` (ERA5 UK and CONUS read by the data layer into fields, the
terrain files), ``simulate`` (simulated fields over terrain) and ``world`` (its samplers and
their mixture). Training, production evaluation and the paper experiments all draw their
tasks here.
"""
