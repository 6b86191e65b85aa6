"""Transformer-NP blocks: context self-attention, then targets cross-attend to the context.

Targets never attend to each other, so they can be processed in chunks exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .mlp import MLP


class _Block(nn.Module):
    def __init__(self, d_model: int, make_attn: Callable[[], MultiHeadAttention]) -> None:
        super().__init__()
        self.self_attn, self.cross_attn = make_attn(), make_attn()
        self.ln: list[nn.LayerNorm] = nn.ModuleList(  # type: ignore[assignment]
            [nn.LayerNorm(d_model) for _ in range(5)]
        )
        self.ff_c = MLP(d_model, d_model, width=2 * d_model)
        self.ff_t = MLP(d_model, d_model, width=2 * d_model)


class TransformerNPEncoder(nn.Module):
    def __init__(
        self,
        d_model: int,
        num_layers: int,
        make_attn: Callable[[], MultiHeadAttention],
        target_chunk: int = 4096,
    ) -> None:
        super().__init__()
        self.blocks: list[_Block] = nn.ModuleList(  # type: ignore[assignment]
            [_Block(d_model, make_attn) for _ in range(num_layers)]
        )
        self.target_chunk = target_chunk

    def forward(
        self, zc: Tensor, zt: Tensor, xc: Tensor, xt: Tensor, mask_c: Tensor | None = None
    ) -> Tensor:
        """Args:
            zc: ``[batch, n_context, d]``, zt: ``[batch, n_target, d]`` tokens.
            xc, xt: ``[batch, n, dim_x]`` inputs (used by translation-equivariant attention).
            mask_c: ``[batch, n_context]`` context padding mask.
        Returns:
            target tokens ``[batch, n_target, d]``.
        """
        contexts = []
        for blk in self.blocks:
            contexts.append(zc)
            h = blk.ln[0](zc)
            zc = zc + blk.self_attn(h, h, xc, xc, mask_c)
            zc = zc + blk.ff_c(blk.ln[1](zc))
        outs = []
        for s in range(0, zt.shape[1], self.target_chunk):
            z, x = zt[:, s : s + self.target_chunk], xt[:, s : s + self.target_chunk]
            for blk, zc_l in zip(self.blocks, contexts, strict=True):
                kc = blk.ln[2](zc_l)
                z = z + blk.cross_attn(blk.ln[3](z), kc, x, xc, mask_c)
                z = z + blk.ff_t(blk.ln[4](z))
            outs.append(z)
        return torch.cat(outs, dim=1)
