"""ConvCNP assembly: encoder -> (aux, fixed inputs) -> CNN -> decoder -> head -> likelihood.

One class covers the paper's three convolutional models, depending on what is injected:

- ``convcnp``: no fixed inputs, no relaxed weights: strictly translation equivariant;
- ``aeconvcnp``: ``fixed_inputs`` concatenated to (or added to) the gridded encoding before
  the CNN -- "ConvCNP (T~)";
- ``relaxed_convcnp``: a CNN of relaxed convolutions whose spatial weight offsets come from
  a :class:`~models.fixed_inputs.FixedInputs` (masked to the domain, dropped per task).

With ``strict=True`` every approximate-equivariance part is zeroed and the model *is* its
strictly equivariant component. The parts that depend on absolute position are the learned
fixed inputs, the relaxed weights **and** the gridded auxiliary rasters (orography, land
fraction, their coverage channel): all three are zeroed by ``strict`` and dropped together,
per task, with the fixed inputs' ``p_drop`` during training, so the equivariant component is
translation equivariant with every input the model has and is trained as such.

``anomalies=True`` (the temperature models) makes the model see the task, not absolute
values (see :meth:`ConvCNP._forward_anomalies`): the context mean is subtracted and added
back, so a constant shift of every station value shifts every predicted mean by exactly that
constant and leaves the variances unchanged, for any weights. The point-wise auxiliary is
then the elevation in metres, used relative to the context's mean elevation (km), and an
optional :class:`~models.trend.TaskTrend` is fitted per task in closed form; the CNN models
what the trend leaves. Values are not rescaled per task (no scale equivariance): the CNN sees
anomalies in kelvin, because station noise and residual amplitudes are physical quantities.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Normal
from torch.nn import functional as F

from .fixed_inputs import FixedInputs
from .gridded_aux import GriddedAux
from .lattice import LatticeWindow, lattice_window
from .likelihood import GaussianLikelihood
from .setconv import SetConvDecoder, SetConvEncoder, TargetAxes
from .trend import TaskTrend, masked_mean
from .unet import UNet
from .validation import check_inputs

ROWS = 4096  # targets per chunk of the point-wise head


def _pointwise(head: nn.Module, feats: Tensor) -> Tensor:
    """``head`` applied to ``feats [batch, n_target, c]`` in chunks of :data:`ROWS` targets
    on CPU: the same numbers, but a 200 x 200 grid's hidden activations stay in cache instead
    of streaming tens of MB through memory (about twice as fast). Accelerators take all the
    targets at once (chunks would only add kernel launches)."""
    n = feats.shape[1]
    if n <= ROWS or feats.device.type != "cpu":
        return head(feats)
    return torch.cat([head(feats[:, s : s + ROWS]) for s in range(0, n, ROWS)], dim=1)


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
        anomalies: bool = False,
        trend: TaskTrend | None = None,
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
        self.anomalies = anomalies
        self.trend = trend
        if (trend is not None or anomalies) and (dim_y != 1 or dim_aux > 1):
            raise ValueError("anomaly models take dim_y = 1 and at most one auxiliary (elevation)")
        if trend is not None and not anomalies:
            raise ValueError("a per-task trend needs anomalies=True")

    @property
    def margin(self) -> int:
        """Grid cells added around the inputs: the CNN's receptive radius plus a little, so
        no target ever sees the window's zero padding."""
        return self.cnn.receptive_radius + self.extra_margin

    def reach(self) -> Tensor:
        """How far (input units; degrees) a context point can inform a target through the
        convolutional part: the CNN's receptive radius on the lattice plus three encoder
        and three decoder length-scales. A 0-d tensor on the model's device, no gradient."""
        ls = self.encoder.rbf.lengthscale.max() + self.decoder.rbf.lengthscale.max()
        return (self.cnn.receptive_radius / self.points_per_unit + 3 * ls).detach()

    def window(self, xc: Tensor, xt: Tensor, mask_c: Tensor | None = None) -> LatticeWindow:
        """The lattice window this call computes on."""
        return lattice_window(
            [xc, xt], self.points_per_unit, self.margin, self.cnn.multiple, masks=[mask_c, None]
        )

    def _keep(self, batch: int, device: torch.device, strict: bool) -> Tensor:
        """Per-task multiplier ``[batch]`` of every absolute-position input: 0 under
        ``strict``; Bernoulli(1 - p_drop) per task in training when there are fixed inputs."""
        if self.fixed_inputs is not None:
            return self.fixed_inputs.keep(batch, device, strict)
        if self.relaxed_weights is not None:
            return self.relaxed_weights.keep(batch, device, strict)
        return torch.full((batch,), 0.0 if strict else 1.0, device=device)

    def _grid_fixed(self, module: FixedInputs, window: LatticeWindow, keep: Tensor) -> Tensor:
        """Fixed-input channels on the grid: ``[batch, C_t, *grid]``."""
        batch, device = keep.shape[0], keep.device
        if not bool(keep.any()):
            return torch.zeros(batch, module.num_channels, *window.shape, device=device)
        feats = module.features(window.points(device))  # [n_grid, C_t]
        feats = feats.T.reshape(1, module.num_channels, *window.shape)
        return feats * keep.reshape(batch, 1, *[1] * window.dim)

    def _features(
        self,
        xc: Tensor,
        vals: Tensor,
        xt: Tensor,
        mask_c: Tensor | None,
        strict: bool,
        xt_grid: TargetAxes | None = None,
    ) -> Tensor:
        """Encoder -> absolute-position inputs -> CNN -> decoder: ``[batch, n_target, c0]``
        (``xt_grid``: the targets as a rectilinear grid, read out separably)."""
        b, device = xc.shape[0], xc.device
        window = self.window(xc, xt if xt_grid is None else xt_grid.corners(), mask_c)
        axes = window.axes(device)
        h = self.encoder(xc, vals, axes, mask_c)
        keep = self._keep(b, device, strict)
        if self.gridded_aux is not None:
            g = self.gridded_aux.on_grid(axes).to(h)
            g = g * keep.to(h).reshape(b, 1, *[1] * window.dim)
            h = torch.cat([h, g.expand(b, *g.shape[1:])], dim=1)
        if self.fixed_inputs is not None:
            f = self._grid_fixed(self.fixed_inputs, window, keep).to(h)
            h = torch.cat([h, f], dim=1) if self.fixed_mode == "concat" else h + f
        delta = None
        if self.relaxed_weights is not None:
            delta = self._grid_fixed(self.relaxed_weights, window, keep).to(h)
        z = self.cnn(h, delta)
        return self.decoder(z, xt if xt_grid is None else xt_grid, axes)

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
            strict: zero every absolute-position input (the equivariant component).
            mask_c: ``[batch, n_context]``, 1 for real and 0 for padded context points.
            aux_c: ``[batch, n_context, dim_aux]`` point-wise auxiliaries at the context.
            aux_t: ``[batch, n_target, dim_aux]`` point-wise auxiliaries at the targets
                (anomaly models: NaN marks a target whose elevation is unknown).
        Returns:
            ``Normal`` with batch shape ``[batch, n_target, dim_y]``.
        """
        xt_grid, xt = (xt, xt.points()) if isinstance(xt, TargetAxes) else (None, xt)
        check_inputs(self, xc, yc, xt, mask_c, aux_c, aux_t)
        if self.anomalies:
            return self._forward_anomalies(xc, yc, xt, strict, mask_c, aux_c, aux_t, xt_grid)
        vals = yc if aux_c is None else torch.cat([yc, aux_c], dim=-1)
        zt = self._features(xc, vals, xt, mask_c, strict, xt_grid)
        if aux_t is not None:
            zt = torch.cat([zt, aux_t], dim=-1)
        return self.likelihood(_pointwise(self.head, zt))

    def _forward_anomalies(
        self,
        xc: Tensor,
        yc: Tensor,
        xt: Tensor,
        strict: bool,
        mask_c: Tensor | None,
        aux_c: Tensor | None,
        aux_t: Tensor | None,
        xt_grid: TargetAxes | None = None,
    ) -> Normal:
        """The temperature model: values in K, elevations in m (see the module docstring).

        1. ``ref`` = context mean; the CNN never sees absolute values.
        2. Elevations relative to the context's mean elevation, in km.
        3. Trend (closed-form Bayesian regression on elevation and position) fitted to the
           context anomalies; the CNN encodes the residuals and the relative elevations.
        4. Mean = ref + trend + CNN residual; variance = CNN variance + trend variance. A
           target with unknown (NaN) elevation is predicted at the context mean elevation
           and its variance gains ``(slope^2 + var slope) * var(context elevation)``.
        """
        b, nc = xc.shape[:2]
        mask = mask_c if mask_c is not None else xc.new_ones(b, nc)
        m = mask.to(yc.dtype)
        ref = masked_mean(yc, mask)  # [b, 1, 1]
        y = (yc - ref)[..., 0] * m  # [b, nc]
        unknown = torch.zeros(xt.shape[:2], dtype=torch.bool, device=xt.device)
        if self.dim_aux:
            assert aux_c is not None and aux_t is not None
            ec = aux_c[..., 0]
            centre = masked_mean(ec, mask)  # [b, 1]
            zc = (ec - centre) / 1000.0 * m
            unknown = torch.isnan(aux_t[..., 0])
            zt = torch.where(unknown, 0.0, (aux_t[..., 0] - centre) / 1000.0)
        else:
            zc, zt = torch.zeros_like(y), xt.new_zeros(xt.shape[:2])
        trend_t = trend_var = torch.zeros_like(zt)
        resid = y
        if self.trend is not None:
            fit = self.trend.fit(xc, y, zc, mask, bound=self.reach())
            trend_c, _ = self.trend.predict(fit, xc, zc)
            trend_t, trend_var = self.trend.predict(fit, xt, zt)
            resid = (y - trend_c) * m
        vals = resid[..., None]
        if self.dim_aux:
            vals = torch.cat([vals, zc[..., None]], dim=-1)
        feats = self._features(xc, vals, xt, mask_c, strict, xt_grid)
        if self.dim_aux:
            feats = torch.cat([feats, zt[..., None]], dim=-1)
        out = _pointwise(self.head, feats)
        mean_r, raw = out[..., 0], out[..., 1]
        var = F.softplus(raw) + self.likelihood.min_variance + trend_var
        if self.dim_aux and bool(unknown.any()):
            spread = masked_mean(zc**2, mask)  # zc is centred: its variance
            slope2 = fit.coef[:, 1] ** 2 + fit.cov[:, 1, 1] if self.trend is not None else 0.0
            var = var + unknown.to(var.dtype) * (slope2 * spread[:, 0])[:, None]
        mean = ref[..., 0] + trend_t + mean_r
        return Normal(mean[..., None], var.sqrt()[..., None])
