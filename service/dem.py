"""The service's DEMs (``EQUIGRID_DEM``): read once at start-up by
:meth:`inference.dems.Dems.load`, the one DEM reader that batch gridding's ``--dem`` uses
too; a request's missing target elevations are filled from them in :mod:`.predict`."""

from __future__ import annotations

from inference.dems import Dems, Filled

__all__ = ["Dems", "Filled"]
