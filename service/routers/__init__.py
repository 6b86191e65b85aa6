"""One router per resource: health, model, grid, points."""
