"""Digital elevation models: read heights from a CF netCDF or a GeoTIFF and resample them
bilinearly.

GeoTIFFs (:func:`read_geotiff`, via ``tifffile``) must be in geographic coordinates
(longitude/latitude degrees, e.g. EPSG:4326, GeoTIFF model type 2), north-up, without
rotation; the GDAL no-data value becomes NaN; pixel-is-area and pixel-is-point rasters
are both placed at their pixel centres.

:func:`height_from` finds the height variable of a dataset through a small lexicon of the
names DEMs use (``orog``, ``elevation``, ``HSURF``, ...), or a surface geopotential
(``z``, m2 s-2, divided by standard gravity), and returns it in metres on our coordinate
conventions. :func:`resample` interpolates a field bilinearly onto target axes (a
:class:`~inference.targets.TargetGrid`, or a store's grid: ingestion regrids orography with
it) and :func:`resample_points` at scattered points. Targets must lie inside the DEM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from .coords import SPATIAL, find_name, only_dims, rename_coords, same_points, standardise
from .errors import DataError, DemError, one_line
from .units import canonical_units

HEIGHT_NAMES = ("orog", "elevation", "HSURF", "height_above_sea_level", "topo", "hgt")
# surface geopotential (m2 s-2); divided by standard gravity to give height
GEOPOTENTIAL_NAMES = ("z", "geopotential", "FIS")
STANDARD_GRAVITY = 9.80665  # m s-2, the constant ECMWF uses for geopotential height
HEIGHT_ATTRS = {"units": "m", "standard_name": "surface_altitude", "long_name": "orography"}
# (names, {canonical units: factor to metres}); a DEM that calls its height `z` in m is height
_CANDIDATES = (
    (HEIGHT_NAMES, {"m": 1.0}),
    (GEOPOTENTIAL_NAMES, {"m2 s-2": 1.0 / STANDARD_GRAVITY, "m": 1.0}),
)
EDGE_TOLERANCE_DEG = 1e-4


def height_from(ds: xr.Dataset, source: str) -> xr.DataArray:
    """The height (m) of a dataset with our coordinate names, 2-D, loaded and standardised.

    The result keeps the file's name of the variable (for messages); callers rename it.
    """
    for names, factors in _CANDIDATES:
        name = find_name(ds, names)
        if name is None:
            continue
        units = ds[name].attrs.get("units")
        factor = factors.get(canonical_units(units) or "")
        if factor is None:
            raise DemError(f"{source}: unknown units {units!r} for {name}")
        da = standardise(only_dims(ds[name], SPATIAL, source), source).load() * factor
        out: xr.DataArray = da.assign_attrs(HEIGHT_ATTRS)
        return out
    tried = "/".join(HEIGHT_NAMES + GEOPOTENTIAL_NAMES)
    raise DemError(f"{source}: no orography variable ({tried})")


GEOTIFF_SUFFIXES = (".tif", ".tiff")
DEM_SUFFIXES = (".nc", *GEOTIFF_SUFFIXES)  # what a directory of DEMs is searched for


def read_dem(path: str | Path) -> xr.DataArray:
    """Heights (m) of a DEM (CF netCDF, or GeoTIFF by its suffix) as
    ``orog(latitude, longitude)``, latitude ascending."""
    p = Path(path)
    if not p.is_file():
        raise DemError(f"DEM not found: {p}")
    if p.suffix.lower() in GEOTIFF_SUFFIXES:
        return read_geotiff(p)
    try:
        ds = xr.open_dataset(p)
    except (OSError, ValueError) as e:
        raise DemError(f"{p}: cannot read ({one_line(e)})") from None
    try:
        return height_from(rename_coords(ds, keep=SPATIAL), str(p)).rename("orog")
    except DataError as e:
        raise DemError(str(e)) from None


# GeoTIFF tags and keys (GeoTIFF 1.1, OGC 19-008r4)
_PIXEL_SCALE, _TIEPOINT, _GEOKEYS, _GDAL_NODATA = 33550, 33922, 34735, 42113
_MODEL_TYPE, _RASTER_TYPE = 1024, 1025
_GEOGRAPHIC, _PIXEL_IS_POINT = 2, 2


def read_geotiff(path: str | Path) -> xr.DataArray:
    """Heights (m) of a geographic GeoTIFF DEM as ``orog(latitude, longitude)``."""
    import tifffile

    p = Path(path)
    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages.first
            tags = {t.code: t.value for t in page.tags.values()}
            z = page.asarray().astype(np.float64)
    except (OSError, ValueError, tifffile.TiffFileError) as e:
        raise DemError(f"{p}: cannot read as GeoTIFF ({one_line(e)})") from None
    if z.ndim != 2:
        raise DemError(f"{p}: expected one band of heights, got shape {z.shape}")
    if _PIXEL_SCALE not in tags or _TIEPOINT not in tags:
        raise DemError(f"{p}: not a GeoTIFF (no pixel scale / tie point tags)")
    keys = _geokeys(tags.get(_GEOKEYS))
    if keys.get(_MODEL_TYPE, _GEOGRAPHIC) != _GEOGRAPHIC:
        raise DemError(f"{p}: projected GeoTIFF; reproject it to longitude/latitude (EPSG:4326)")
    sx, sy = float(tags[_PIXEL_SCALE][0]), float(tags[_PIXEL_SCALE][1])
    i0, j0, _, x0, y0, _ = (float(v) for v in tags[_TIEPOINT][:6])
    if sx <= 0 or sy <= 0:
        raise DemError(f"{p}: pixel scale must be positive (north-up, no rotation)")
    centre = 0.0 if keys.get(_RASTER_TYPE) == _PIXEL_IS_POINT else 0.5
    lon = x0 + (np.arange(z.shape[1]) + centre - i0) * sx
    lat = y0 - (np.arange(z.shape[0]) + centre - j0) * sy
    nodata = tags.get(_GDAL_NODATA)
    if nodata is not None:
        text = nodata.strip("\x00 ") if isinstance(nodata, str) else nodata
        z[z == float(text)] = np.nan
    da = xr.DataArray(z, coords={"latitude": lat, "longitude": lon}, dims=SPATIAL)
    return da.sortby("latitude").assign_attrs(HEIGHT_ATTRS).rename("orog")


def _geokeys(directory: object) -> dict[int, int]:
    """Key id -> short value of a GeoKeyDirectory (values held in other tags are skipped)."""
    if directory is None:
        return {}
    v = [int(x) for x in directory]  # type: ignore[attr-defined]
    out = {}
    for k in range(v[3]):
        key, loc, _, value = v[4 + 4 * k : 8 + 4 * k]
        if loc == 0:
            out[key] = value
    return out


def resample(da: xr.DataArray, lat: ArrayLike, lon: ArrayLike, what: str) -> xr.DataArray:
    """Bilinear interpolation of ``da(latitude, longitude)`` onto the axes ``lat``, ``lon``.

    On the same points the values are copied (no interpolation round-off); targets within
    :data:`EDGE_TOLERANCE_DEG` outside the source are clipped to its edge; anything else
    outside, and any missing value, is an error naming ``what``. Float32 out.
    """
    axes = {"latitude": np.asarray(lat, np.float64), "longitude": np.asarray(lon, np.float64)}
    _check_covers(da, axes, what)
    if all(same_points(da[c].values, axes[c]) for c in SPATIAL):
        out = da
    else:
        lo_hi = {c: (da[c].values.min(), da[c].values.max()) for c in SPATIAL}
        out = da.interp({c: np.clip(axes[c], *lo_hi[c]) for c in SPATIAL}, method="linear")
    out = out.assign_coords(axes)
    n_missing = int(out.isnull().sum())
    if n_missing:
        raise DemError(f"{what} has {n_missing} missing values on the temperature grid")
    return out.astype(np.float32)


def resample_points(
    da: xr.DataArray, lat: ArrayLike, lon: ArrayLike, what: str = "DEM"
) -> NDArray[np.float64]:
    """Bilinear values of ``da(latitude, longitude)`` at points ``(lat[i], lon[i])``."""
    pts = {"latitude": np.asarray(lat, np.float64), "longitude": np.asarray(lon, np.float64)}
    _check_covers(da, pts, what)
    lo_hi = {c: (da[c].values.min(), da[c].values.max()) for c in SPATIAL}
    idx = {c: xr.DataArray(np.clip(pts[c], *lo_hi[c]), dims="point") for c in SPATIAL}
    out = da.interp(idx, method="linear").values.astype(np.float64)
    if not np.isfinite(out).all():
        raise DemError(f"{what} has missing values at {int((~np.isfinite(out)).sum())} points")
    return out


def _check_covers(da: xr.DataArray, axes: dict[str, NDArray[np.float64]], what: str) -> None:
    tol = EDGE_TOLERANCE_DEG
    inside = all(
        da[c].values.min() - tol <= axes[c].min() and axes[c].max() <= da[c].values.max() + tol
        for c in SPATIAL
    )
    if not inside:
        src = f"lat {da.latitude.values.min():g}..{da.latitude.values.max():g}, "
        src += f"lon {da.longitude.values.min():g}..{da.longitude.values.max():g}"
        tgt = f"lat {axes['latitude'].min():g}..{axes['latitude'].max():g}, "
        tgt += f"lon {axes['longitude'].min():g}..{axes['longitude'].max():g}"
        raise DemError(f"{what} covers {src}, not the temperature grid {tgt}")
