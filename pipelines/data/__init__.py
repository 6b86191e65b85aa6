"""Stage 1, data: ERA5 and orography files -> one validated training store; station tables.

``lexicon`` (source names), ``era5`` (one file -> tidy ``t2m``), ``orography``,
``download`` (CDS), ``store`` (the schema), ``ingest`` (all of it -> a store) and
``station_table`` / ``station_files`` / ``station_dsg`` (CSV, Parquet, CF DSG netCDF -> one
:class:`~pipelines.data.station_table.StationTable`).
"""
