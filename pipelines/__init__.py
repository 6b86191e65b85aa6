"""equigrid pipelines: ERA5 ingestion, task sampling, training, evaluation, batch gridding."""
