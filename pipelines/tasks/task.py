"""Tasks: a small typed batch of context/target sets, and the sampler seam.

A :class:`Task` is what every model consumes: padded context and target sets with masks,
plus optional point-wise auxiliaries. Samplers (stores, GP draws, station layouts)
implement :class:`TaskSampler`; training and evaluation only see that protocol.
:func:`assemble` pads rows of different sizes by the one padding rule
(:func:`inference.padding.pad_repeat`: repeat a real point, mask it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import torch
from torch import Tensor

from inference.padding import pad_repeat


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

    def unbatch(self) -> list[Task]:
        """Single-task batches with the padding removed."""
        out = []
        for i in range(self.batch_size):
            mc = self.mask_c[i].bool() if self.mask_c is not None else slice(None)
            mt = self.mask_t[i].bool() if self.mask_t is not None else slice(None)
            out.append(
                Task(
                    self.xc[i, mc][None],
                    self.yc[i, mc][None],
                    self.xt[i, mt][None],
                    self.yt[i, mt][None],
                    aux_c=None if self.aux_c is None else self.aux_c[i, mc][None],
                    aux_t=None if self.aux_t is None else self.aux_t[i, mt][None],
                )
            )
        return out


class TaskSampler(Protocol):
    """Draws batches of tasks; all randomness comes from the generator passed in."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Task: ...


Row = Sequence[Tensor]  # (xc, yc, xt, yt[, aux_c, aux_t]) of one task, unbatched


def assemble(rows: Sequence[Row]) -> Task:
    """Pad rows of ``(xc, yc, xt, yt[, aux_c, aux_t])`` into one :class:`Task` with masks."""
    cols = [pad_repeat([r[k] for r in rows]) for k in range(len(rows[0]))]
    (xc, mask_c), (yc, _), (xt, mask_t), (yt, _) = cols[:4]
    aux_c, aux_t = (cols[4][0], cols[5][0]) if len(cols) == 6 else (None, None)
    return Task(xc, yc, xt, yt, mask_c, mask_t, aux_c, aux_t)
