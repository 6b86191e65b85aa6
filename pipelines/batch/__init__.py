"""Stage 5, batch gridding: a station record in, a CF netCDF or Zarr of mean and variance out.

``plan`` (time axis, grid box, chunks), ``screening`` (every row used, merged or skipped with
a reason), ``prepare`` (the job, decided before any work), ``gridding`` (``run_job``),
``cluster`` (dask.distributed), ``worker`` (one time chunk on a worker), ``store`` (the
resumable partial store), ``output`` (the CF dataset, netCDF or Zarr), ``progress``,
``views`` (what ``equigrid plot`` draws) and ``demo`` (synthetic stations, so the main job
runs without data). The commands are :mod:`cli.grid` and :mod:`cli.plot`.
"""
