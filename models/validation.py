"""Shape checks shared by every model's ``forward``, with messages that name the argument."""

from __future__ import annotations

from typing import Protocol

from torch import Tensor


class _HasDims(Protocol):
    dim_x: int
    dim_y: int
    dim_aux: int


def check_inputs(
    model: _HasDims,
    xc: Tensor,
    yc: Tensor,
    xt: Tensor,
    mask_c: Tensor | None,
    aux_c: Tensor | None,
    aux_t: Tensor | None,
) -> None:
    """Raise ``ValueError`` naming the first argument whose shape does not fit the model."""
    if xc.dim() != 3 or xc.shape[-1] != model.dim_x:
        raise ValueError(f"xc must be [batch, n_context, {model.dim_x}], got {tuple(xc.shape)}")
    b, nc = xc.shape[:2]
    if nc == 0:
        raise ValueError("the context set is empty")
    if tuple(yc.shape) != (b, nc, model.dim_y):
        raise ValueError(f"yc must be [{b}, {nc}, {model.dim_y}], got {tuple(yc.shape)}")
    if xt.dim() != 3 or xt.shape[0] != b or xt.shape[-1] != model.dim_x:
        raise ValueError(f"xt must be [{b}, n_target, {model.dim_x}], got {tuple(xt.shape)}")
    if mask_c is not None and tuple(mask_c.shape) != (b, nc):
        raise ValueError(f"mask_c must be [{b}, {nc}], got {tuple(mask_c.shape)}")
    if model.dim_aux:
        if aux_c is None or aux_t is None:
            raise ValueError(f"this model needs aux_c and aux_t with {model.dim_aux} channels")
        if tuple(aux_c.shape) != (b, nc, model.dim_aux):
            raise ValueError(
                f"aux_c must be [{b}, {nc}, {model.dim_aux}], got {tuple(aux_c.shape)}"
            )
        if tuple(aux_t.shape) != (b, xt.shape[1], model.dim_aux):
            raise ValueError(
                f"aux_t must be [{b}, {xt.shape[1]}, {model.dim_aux}], got {tuple(aux_t.shape)}"
            )
    elif aux_c is not None or aux_t is not None:
        raise ValueError("this model takes no point-wise auxiliaries (dim_aux = 0)")
