"""Stage 1, data: ERA5 and orography files -> one validated training store; station tables.

``lexicon`` (source names), ``era5`` (one file -> tidy ``t2m``), ``orography``,
``download`` (CDS), ``store`` (the schema), ``ingest`` (all of it -> a store) and
``station_table`` (CSV -> :class:`inference.stations.Stations` per time step).
"""
