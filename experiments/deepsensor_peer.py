"""DeepSensor's ConvNP as a peer, behind the model family's calling convention.

:class:`DeepSensorConvNP` wraps ``deepsensor.model.ConvNP`` (PyPI ``deepsensor``, the
optional ``benchmark`` extra) as an ``nn.Module`` with ``forward(xc, yc, xt, ...) -> Normal``,
so :func:`pipelines.train.loop.fit` trains it with the same budget, optimiser and tasks as our
models and the same scoring evaluates it. Its ``DataProcessor`` gets explicit, equal-span
``x1_map``/``x2_map`` (with NumPy 2, unequal spans crash DeepSensor 0.4's warning path);
values are already standardised by us, so DeepSensor's own normalisation (fitted on the same
training days) is only used to infer its defaults.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn
from torch.distributions import Normal


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """DeepSensor's dependency ``lab`` still touches ``numpy.core`` (deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def available() -> bool:
    """Whether the optional ``deepsensor`` package is installed."""
    return importlib.util.find_spec("deepsensor") is not None


class DeepSensorConvNP(nn.Module):
    """``deepsensor.model.ConvNP`` (torch backend) taking and returning our tensors.

    Args:
        field: the training days as a ``(time, latitude, longitude)`` DataArray (kelvin).
        x1_map, x2_map: (low, high) of latitude and longitude mapped to [0, 1]; equal spans.
        **convnp: keyword configuration passed to ``ConvNP`` (e.g. ``unet_channels``).
    """

    def __init__(
        self,
        field: xr.DataArray,
        x1_map: tuple[float, float],
        x2_map: tuple[float, float],
        **convnp: Any,
    ) -> None:
        super().__init__()
        with _quiet():
            import deepsensor.torch  # noqa: F401  (selects the torch backend)
            from deepsensor.data import DataProcessor, TaskLoader
            from deepsensor.model import ConvNP

        processor = DataProcessor(
            x1_name="latitude", x2_name="longitude", x1_map=x1_map, x2_map=x2_map
        )
        normalised: Any = processor(field)
        loader = TaskLoader(context=normalised, target=normalised)
        convnp_model: Any = ConvNP(processor, loader, verbose=False, **convnp)
        self.net: nn.Module = convnp_model.model  # a torch module: registers the parameters
        self.low = (x1_map[0], x2_map[0])
        self.span = x1_map[1] - x1_map[0]
        self.dim_x, self.dim_y, self.dim_aux = 2, 1, 0

    def _coords(self, x: Tensor) -> np.ndarray:
        """``[n, 2]`` (lat, lon) -> DeepSensor's ``[2, n]`` normalised coordinates."""
        low = torch.tensor(self.low, dtype=x.dtype)
        return ((x - low) / self.span).T.detach().cpu().numpy().astype(np.float32)

    def forward(
        self,
        xc: Tensor,
        yc: Tensor,
        xt: Tensor,
        *,
        strict: bool = False,
        mask_c: Tensor | None = None,
        aux_c: Tensor | None = None,
        aux_t: Tensor | None = None,
    ) -> Normal:
        """Same signature as the family's models; ``strict`` is a no-op (ConvNP is strictly
        translation equivariant), auxiliaries are not supported."""
        from deepsensor.data.task import Task as DSTask
        from deepsensor.model import ConvNP
        from deepsensor.model.nps import run_nps_model

        if aux_c is not None or aux_t is not None:
            raise ValueError("the DeepSensor peer takes (lat, lon) inputs only")
        means, stds = [], []
        for i in range(xc.shape[0]):
            keep = slice(None) if mask_c is None else mask_c[i].bool()
            targets = self._coords(xt[i])
            task = DSTask(
                {
                    "time": None,
                    "ops": [],
                    "X_c": [self._coords(xc[i, keep])],
                    "Y_c": [yc[i, keep].T.detach().cpu().numpy().astype(np.float32)],
                    "X_t": [targets],
                    "Y_t": [np.zeros((1, targets.shape[1]), np.float32)],
                }
            )
            with _quiet():
                dist = run_nps_model(self.net, ConvNP.modify_task(task), None, requires_grad=True)
            means.append(dist.mean[0, 0])
            stds.append(dist.var[0, 0].clamp_min(1e-8).sqrt())
        return Normal(torch.stack(means)[..., None].float(), torch.stack(stds)[..., None].float())
