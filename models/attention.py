"""Multi-head attention, plain and translation-equivariant.

Both share one signature ``attn(zq, zk, xq, xk, key_mask)`` so that the transformer blocks
in :mod:`models.transformer` are written once. The plain version ignores the inputs ``x``
(a TNP puts them into the tokens instead). The translation-equivariant version (TE-TNP,
Ashman et al. 2024) adds to each head's logits a learned function of the differences
``xq_i - xk_j`` only, and its tokens never see absolute positions, so shifting every input
by any real vector leaves the output unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .mlp import MLP


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        self.h, self.dh = num_heads, d_model // num_heads
        self.q = nn.Linear(d_model, d_model, bias=False)
        self.kv = nn.Linear(d_model, 2 * d_model, bias=False)
        self.o = nn.Linear(d_model, d_model)

    def bias(self, xq: Tensor, xk: Tensor) -> Tensor | None:
        """Additive logit bias ``[batch, heads, n_q, n_k]``; none for plain attention."""
        return None

    def forward(
        self, zq: Tensor, zk: Tensor, xq: Tensor, xk: Tensor, key_mask: Tensor | None = None
    ) -> Tensor:
        """Args:
            zq: ``[batch, n_q, d_model]`` query tokens; zk: ``[batch, n_k, d_model]``.
            xq: ``[batch, n_q, dim_x]``; xk: ``[batch, n_k, dim_x]`` token inputs.
            key_mask: ``[batch, n_k]``, 0 where a key is padding.
        Returns:
            ``[batch, n_q, d_model]``.
        """
        b, nq, _ = zq.shape
        nk = zk.shape[1]
        q = self.q(zq).reshape(b, nq, self.h, self.dh).transpose(1, 2)
        k, v = self.kv(zk).reshape(b, nk, 2, self.h, self.dh).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        bias = self.bias(xq, xk)
        if bias is not None:
            logits = logits + bias
        if key_mask is not None:
            logits = logits.masked_fill(~key_mask.bool()[:, None, None, :], float("-inf"))
        out = torch.softmax(logits, dim=-1) @ v
        return self.o(out.transpose(1, 2).reshape(b, nq, -1))


class TEMultiHeadAttention(MultiHeadAttention):
    """Attention whose logits also depend on ``xq_i - xk_j`` through a small MLP per head."""

    def __init__(self, d_model: int, num_heads: int, dim_x: int, width: int = 32) -> None:
        super().__init__(d_model, num_heads)
        self.phi = MLP(dim_x, num_heads, width=width, num_hidden=1)

    def bias(self, xq: Tensor, xk: Tensor) -> Tensor:
        diff = xq[:, :, None, :] - xk[:, None, :, :]  # [b, n_q, n_k, dim_x]
        return self.phi(diff).permute(0, 3, 1, 2)
