"""equigrid's model family: approximately equivariant neural processes and their baselines.

``build_model(name, **config)`` builds any of ``convcnp``, ``aeconvcnp``, ``relaxed_convcnp``,
``tnp``, ``tetnp``, ``aetetnp``; every model is called as
``model(xc, yc, xt, *, strict=False, mask_c=None, aux_c=None, aux_t=None) -> Normal``.
The ConvCNPs also take a rectilinear target grid as ``xt`` (:class:`TargetAxes`).
"""

from .checkpoint import CheckpointError, load, read_config, save
from .diagnostics import equivariance_deviation
from .likelihood import gaussian_nll
from .registry import MODELS, build_model
from .setconv import TargetAxes

__all__ = [
    "MODELS",
    "CheckpointError",
    "TargetAxes",
    "build_model",
    "equivariance_deviation",
    "gaussian_nll",
    "load",
    "read_config",
    "save",
]
