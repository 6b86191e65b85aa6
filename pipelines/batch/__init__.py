"""Stage 5, batch gridding: a station record in, a CF netCDF of mean and variance out.

``gridding`` (stream every time step through a :class:`~inference.predictor.Predictor` into
one netCDF) and ``demo`` (synthetic stations, so the main job runs without data). The
command is :mod:`cli.grid`.
"""
