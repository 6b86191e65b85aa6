"""Tasks: a small typed batch of context/target sets, and the sampler seam.

A :class:`Task` is what every model consumes: padded context and target sets with masks,
plus optional point-wise auxiliaries. Samplers (ERA5 stores, GP draws, station layouts)
implement :class:`TaskSampler`; training and evaluation only see that protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class Task:
    """A batch of tasks (shapes in the docstrings of the models).

    xc: ``[batch, n_context, dim_x]``; yc: ``[batch, n_context, dim_y]``;
    xt: ``[batch, n_target, dim_x]``; yt: ``[batch, n_target, dim_y]``;
    mask_c / mask_t: ``[batch, n]`` (1 real, 0 padding) or None when nothing is padded;
    aux_c / aux_t: ``[batch, n, dim_aux]`` point-wise auxiliaries or None.
    """

    xc: Tensor
    yc: Tensor
    xt: Tensor
    yt: Tensor
    mask_c: Tensor | None = None
    mask_t: Tensor | None = None
    aux_c: Tensor | None = None
    aux_t: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.xc.shape[0])

    def to(self, device: torch.device | str) -> Task:
        moved = {
            f.name: (v.to(device) if isinstance(v := getattr(self, f.name), Tensor) else v)
            for f in fields(self)
        }
        return replace(self, **moved)

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model(xc, yc, xt, **kwargs)``."""
        kw: dict[str, Any] = {}
        if self.mask_c is not None:
            kw["mask_c"] = self.mask_c
        if self.aux_c is not None:
            kw["aux_c"] = self.aux_c
        if self.aux_t is not None:
            kw["aux_t"] = self.aux_t
        return kw


class TaskSampler(Protocol):
    """Draws batches of tasks; all randomness comes from the generator passed in."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Task: ...


def pad_stack(rows: list[Tensor], length: int | None = None) -> tuple[Tensor, Tensor]:
    """Stack ``[n_i, c]`` tensors into ``[batch, max_n, c]`` with a ``[batch, max_n]`` mask."""
    n = max(r.shape[0] for r in rows) if length is None else length
    out = rows[0].new_zeros(len(rows), n, rows[0].shape[-1])
    mask = rows[0].new_zeros(len(rows), n)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = 1
    return out, mask
