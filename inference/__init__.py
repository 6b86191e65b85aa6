"""equigrid's inference core (issue 8 moves the bundle, predictor, units and CF output here);
so far: the one map renderer, :mod:`inference.maps`."""
