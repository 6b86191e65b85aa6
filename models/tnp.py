"""Transformer neural processes: TNP (no symmetry), TE-TNP (T) and AE-TE-TNP (T~).

- :class:`TNP` embeds absolute inputs in its tokens: it can fit anything, but has no
  translation symmetry to lean on.
- :class:`TNP` with ``equivariant=True`` is the TE-TNP: tokens see only values, and attention
  sees only differences of inputs, so any real shift of all inputs changes nothing.
- Giving the TE-TNP a :class:`~models.fixed_inputs.FixedInputs` (projected to the token width
  and added to every token) is the AE-TE-TNP: the same mechanism as the AE-ConvCNP, on a
  different backbone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Normal

from .attention import MultiHeadAttention, TEMultiHeadAttention
from .fixed_inputs import FixedInputs
from .likelihood import GaussianLikelihood
from .mlp import MLP
from .transformer import TransformerNPEncoder
from .validation import check_inputs


class TNP(nn.Module):
    name: str
    config: dict[str, Any]
    x_center: Tensor
    x_scale: Tensor

    def __init__(
        self,
        *,
        dim_x: int = 2,
        dim_y: int = 1,
        dim_aux: int = 0,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 4,
        equivariant: bool = False,
        fixed_inputs: FixedInputs | None = None,
        x_center: Sequence[float] | None = None,
        x_scale: Sequence[float] | None = None,
        min_variance: float = 1e-4,
    ) -> None:
        super().__init__()
        if fixed_inputs is not None and not equivariant:
            raise ValueError("fixed inputs are for the translation-equivariant TNP")
        self.dim_x, self.dim_y, self.dim_aux = dim_x, dim_y, dim_aux
        self.equivariant = equivariant
        center = (
            torch.zeros(dim_x) if x_center is None else torch.tensor(x_center, dtype=torch.float32)
        )
        scale = torch.ones(dim_x) if x_scale is None else torch.tensor(x_scale, dtype=torch.float32)
        self.register_buffer("x_center", center, persistent=False)
        self.register_buffer("x_scale", scale, persistent=False)
        x_in = 0 if equivariant else dim_x
        self.embed = MLP(x_in + dim_y + dim_aux + 1, d_model, width=d_model, num_hidden=2)
        self.fixed_inputs = fixed_inputs
        self.fixed_proj = (
            nn.Linear(fixed_inputs.num_channels, d_model, bias=False)
            if fixed_inputs is not None
            else None
        )

        def make_attn() -> MultiHeadAttention:
            if equivariant:
                return TEMultiHeadAttention(d_model, num_heads, dim_x)
            return MultiHeadAttention(d_model, num_heads)

        self.encoder = TransformerNPEncoder(d_model, num_layers, make_attn)
        self.likelihood = GaussianLikelihood(dim_y, min_variance)
        self.head = MLP(d_model, self.likelihood.num_params, width=d_model)

    def _tokens(self, x: Tensor, y: Tensor, aux: Tensor | None, flag: float) -> Tensor:
        parts = [] if self.equivariant else [(x - self.x_center) / self.x_scale]
        parts.append(y)
        if aux is not None:
            parts.append(aux)
        parts.append(torch.full_like(y[..., :1], flag))
        return self.embed(torch.cat(parts, dim=-1))

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
        """Predict at the targets.

        Args:
            xc: ``[batch, n_context, dim_x]``; yc: ``[batch, n_context, dim_y]``.
            xt: ``[batch, n_target, dim_x]``.
            strict: zero the fixed inputs (no effect on models without them).
            mask_c: ``[batch, n_context]`` context padding mask.
            aux_c, aux_t: point-wise auxiliaries ``[batch, n, dim_aux]``.
        Returns:
            ``Normal`` with batch shape ``[batch, n_target, dim_y]``.
        """
        check_inputs(self, xc, yc, xt, mask_c, aux_c, aux_t)
        zc = self._tokens(xc, yc, aux_c, 1.0)
        zt = self._tokens(
            xt, torch.zeros_like(xt[..., :1]).expand(*xt.shape[:2], self.dim_y), aux_t, 0.0
        )
        if self.fixed_inputs is not None and self.fixed_proj is not None:
            keep = self.fixed_inputs.keep(xc.shape[0], xc.device, strict)[:, None, None]
            zc = zc + self.fixed_proj(self.fixed_inputs.features(xc).to(zc)) * keep
            zt = zt + self.fixed_proj(self.fixed_inputs.features(xt).to(zt)) * keep
        z = self.encoder(zc, zt, xc, xt, mask_c)
        return self.likelihood(self.head(z))
