"""ConvCNP assembly: encoder -> (aux, fixed inputs) -> CNN -> decoder -> head -> likelihood.

One class covers the paper's three convolutional models, depending on what is injected:

- ``convcnp``: no fixed inputs, no relaxed weights: strictly translation equivariant;
- ``aeconvcnp``: ``fixed_inputs`` concatenated to (or added to) the gridded encoding before
  the CNN -- "ConvCNP (T~)";
- ``relaxed_convcnp``: a CNN of relaxed convolutions whose spatial weight offsets come from
  a :class:`~models.fixed_inputs.FixedInputs` (masked to the domain, dropped per task).

With ``strict=True`` every approximate-equivariance part is zeroed and the model *is* its
strictly equivariant component.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Normal

from .fixed_inputs import FixedInputs
from .gridded_aux import GriddedAux
from .lattice import LatticeWindow, lattice_window
from .likelihood import GaussianLikelihood
from .setconv import SetConvDecoder, SetConvEncoder, TargetAxes
from .unet import UNet
from .validation import check_inputs


class ConvCNP(nn.Module):
    name: str
    config: dict[str, Any]

    def __init__(
        self,
        *,
        encoder: SetConvEncoder,
        cnn: UNet,
        decoder: SetConvDecoder,
        head: nn.Module,
        likelihood: GaussianLikelihood,
        points_per_unit: float,
        dim_x: int,
        dim_y: int,
        dim_aux: int = 0,
        fixed_inputs: FixedInputs | None = None,
        fixed_mode: str = "concat",
        relaxed_weights: FixedInputs | None = None,
        gridded_aux: GriddedAux | None = None,
        extra_margin: int = 2,
    ) -> None:
        super().__init__()
        if fixed_mode not in ("concat", "add"):
            raise ValueError("fixed_mode must be 'concat' or 'add'")
        self.encoder, self.cnn, self.decoder = encoder, cnn, decoder
        self.head, self.likelihood = head, likelihood
        self.points_per_unit = float(points_per_unit)
        self.dim_x, self.dim_y, self.dim_aux = dim_x, dim_y, dim_aux
        self.fixed_inputs = fixed_inputs
        self.fixed_mode = fixed_mode
        self.relaxed_weights = relaxed_weights
        self.gridded_aux = gridded_aux
        self.extra_margin = extra_margin

    @property
    def margin(self) -> int:
        """Grid cells added around the inputs: the CNN's receptive radius plus a little, so
        no target ever sees the window's zero padding."""
        return self.cnn.receptive_radius + self.extra_margin

    def window(self, xc: Tensor, xt: Tensor, mask_c: Tensor | None = None) -> LatticeWindow:
        """The lattice window this call computes on."""
        return lattice_window(
            [xc, xt], self.points_per_unit, self.margin, self.cnn.multiple, masks=[mask_c, None]
        )

    def _grid_fixed(
        self,
        module: FixedInputs,
        window: LatticeWindow,
        batch: int,
        device: torch.device,
        strict: bool,
    ) -> Tensor:
        """Fixed-input channels on the grid: ``[batch, C_t, *grid]``."""
        keep = module.keep(batch, device, strict)
        if not bool(keep.any()):
            return torch.zeros(batch, module.num_channels, *window.shape, device=device)
        feats = module.features(window.points(device))  # [n_grid, C_t]
        feats = feats.T.reshape(1, module.num_channels, *window.shape)
        return feats * keep.reshape(batch, 1, *[1] * window.dim)

    def forward(
        self,
        xc: Tensor,
        yc: Tensor,
        xt: Tensor | TargetAxes,
        *,
        strict: bool = False,
        mask_c: Tensor | None = None,
        aux_c: Tensor | None = None,
        aux_t: Tensor | None = None,
    ) -> Normal:
        """Predict at the targets.

        Args:
            xc: ``[batch, n_context, dim_x]`` context inputs ((lat, lon) in degrees for 2-D).
            yc: ``[batch, n_context, dim_y]`` context values.
            xt: ``[batch, n_target, dim_x]`` target inputs, or a rectilinear target grid
                (:class:`~models.setconv.TargetAxes`; ``n_target = prod(n_d)``, row-major),
                which the decoder reads out separably (same numbers, far fewer operations).
            strict: zero the fixed inputs / relaxed weights (the equivariant component).
            mask_c: ``[batch, n_context]``, 1 for real and 0 for padded context points.
            aux_c: ``[batch, n_context, dim_aux]`` point-wise auxiliaries at the context.
            aux_t: ``[batch, n_target, dim_aux]`` point-wise auxiliaries at the targets.
        Returns:
            ``Normal`` with batch shape ``[batch, n_target, dim_y]``.
        """
        xt_grid, xt = (xt, xt.points()) if isinstance(xt, TargetAxes) else (None, xt)
        check_inputs(self, xc, yc, xt, mask_c, aux_c, aux_t)
        b, device = xc.shape[0], xc.device
        window = self.window(xc, xt if xt_grid is None else xt_grid.corners(), mask_c)
        axes = window.axes(device)
        vals = yc if aux_c is None else torch.cat([yc, aux_c], dim=-1)
        h = self.encoder(xc, vals, axes, mask_c)
        if self.gridded_aux is not None:
            g = self.gridded_aux.on_grid(axes).to(h)
            h = torch.cat([h, g.expand(b, *g.shape[1:])], dim=1)
        if self.fixed_inputs is not None:
            f = self._grid_fixed(self.fixed_inputs, window, b, device, strict).to(h)
            h = torch.cat([h, f], dim=1) if self.fixed_mode == "concat" else h + f
        delta = None
        if self.relaxed_weights is not None:
            delta = self._grid_fixed(self.relaxed_weights, window, b, device, strict).to(h)
        z = self.cnn(h, delta)
        zt = self.decoder(z, xt if xt_grid is None else xt_grid, axes)
        if aux_t is not None:
            zt = torch.cat([zt, aux_t], dim=-1)
        return self.likelihood(self.head(zt))
