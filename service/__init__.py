"""equigrid HTTP service (FastAPI)."""
