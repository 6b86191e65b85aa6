"""One registry: ``build_model(name, **config)`` for every model in the family.

Each builder takes keyword configuration only; ``build_model`` drops keys set to ``None`` (so
callers can forward optional overrides untouched) and records the name and the effective
configuration on the model, which is what :func:`models.checkpoint.save` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from .convcnp import ConvCNP
from .fixed_inputs import FixedInputs
from .gridded_aux import GriddedAux
from .likelihood import GaussianLikelihood
from .mlp import MLP
from .setconv import SetConvDecoder, SetConvEncoder
from .tnp import TNP
from .trend import TaskTrend
from .unet import UNet

Domain = Sequence[Sequence[float]]


def _fixed(dim_x: int, channels: int, domain: Domain | None, cfg: dict[str, Any]) -> FixedInputs:
    if domain is None:
        raise ValueError("approximately equivariant models need `domain`: one (low, high) per dim")
    return FixedInputs(
        dim_x,
        channels,
        domain,
        hidden=cfg.get("fixed_width", 64),
        num_layers=cfg.get("fixed_layers", 2),
        num_fourier=cfg.get("fourier_features", 0),
        taper=cfg.get("taper", 0.0),
        p_drop=cfg.get("p_drop", 0.5),
    )


def _convcnp(
    *,
    dim_x: int = 2,
    dim_y: int = 1,
    dim_aux: int = 0,
    points_per_unit: float = 4.0,
    unet_channels: Sequence[int] = (32, 32, 64, 64),
    kernel_size: int = 5,
    setconv_lengthscale: float | None = None,
    head_width: int = 64,
    min_variance: float = 1e-4,
    aux_grid: dict[str, Any] | None = None,
    domain: Domain | None = None,
    fixed_channels: int = 0,
    fixed_mode: str = "concat",
    relaxed_kernels: int = 0,
    extra_margin: int = 2,
    anomalies: bool = False,
    trend: dict[str, Any] | None = None,
    **fixed_cfg: Any,
) -> ConvCNP:
    unknown = set(fixed_cfg) - {
        "fixed_width",
        "fixed_layers",
        "fourier_features",
        "taper",
        "p_drop",
    }
    if unknown:
        raise TypeError(f"unknown configuration: {sorted(unknown)}")
    ls = setconv_lengthscale if setconv_lengthscale is not None else 2.0 / points_per_unit
    encoder = SetConvEncoder(dim_x, ls)
    in_ch = 1 + dim_y + dim_aux
    gridded = None
    if aux_grid is not None:
        gridded = GriddedAux(**aux_grid)
        in_ch += gridded.num_channels
    fixed = None
    if fixed_channels:
        if fixed_mode == "add":
            fixed = _fixed(dim_x, in_ch, domain, fixed_cfg)
        else:
            fixed = _fixed(dim_x, fixed_channels, domain, fixed_cfg)
            in_ch += fixed_channels
    relaxed = _fixed(dim_x, relaxed_kernels, domain, fixed_cfg) if relaxed_kernels else None
    cnn = UNet(dim_x, in_ch, unet_channels[0], unet_channels, kernel_size, relaxed_kernels)
    likelihood = GaussianLikelihood(dim_y, min_variance)
    return ConvCNP(
        encoder=encoder,
        cnn=cnn,
        decoder=SetConvDecoder(dim_x, ls),
        head=MLP(unet_channels[0] + dim_aux, likelihood.num_params, width=head_width),
        likelihood=likelihood,
        points_per_unit=points_per_unit,
        dim_x=dim_x,
        dim_y=dim_y,
        dim_aux=dim_aux,
        fixed_inputs=fixed,
        fixed_mode=fixed_mode,
        relaxed_weights=relaxed,
        gridded_aux=gridded,
        extra_margin=extra_margin,
        anomalies=anomalies,
        trend=TaskTrend(**trend) if trend is not None else None,
    )


def convcnp(**cfg: Any) -> ConvCNP:
    """Strictly translation-equivariant ConvCNP."""
    for key in ("fixed_channels", "relaxed_kernels"):
        if cfg.get(key):
            raise ValueError(f"convcnp is strictly equivariant: `{key}` is not allowed")
    return _convcnp(**cfg)


def aeconvcnp(*, fixed_channels: int = 4, **cfg: Any) -> ConvCNP:
    """ConvCNP with fixed inputs on the grid ("ConvCNP (T~)")."""
    if fixed_channels < 1:
        raise ValueError("aeconvcnp needs fixed_channels >= 1 (use convcnp for none)")
    return _convcnp(fixed_channels=fixed_channels, **cfg)


def relaxed_convcnp(*, relaxed_kernels: int = 2, **cfg: Any) -> ConvCNP:
    """ConvCNP whose UNet uses relaxed group convolutions."""
    if relaxed_kernels < 1:
        raise ValueError("relaxed_convcnp needs relaxed_kernels >= 1")
    return _convcnp(relaxed_kernels=relaxed_kernels, **cfg)


def _tnp(equivariant: bool, fixed: bool, **cfg: Any) -> TNP:
    dim_x = cfg.pop("dim_x", 2)
    domain = cfg.pop("domain", None)
    fixed_keys = (
        "fixed_channels",
        "fixed_width",
        "fixed_layers",
        "fourier_features",
        "taper",
        "p_drop",
    )
    fixed_cfg = {k: cfg.pop(k) for k in fixed_keys if k in cfg}
    fi = _fixed(dim_x, fixed_cfg.get("fixed_channels", 4), domain, fixed_cfg) if fixed else None
    if fixed_cfg and not fixed:
        raise ValueError(f"{sorted(fixed_cfg)} only apply to models with fixed inputs")
    if not equivariant and domain is not None:
        # the non-equivariant TNP uses the domain only to normalise absolute inputs
        cfg.setdefault("x_center", [(lo + hi) / 2 for lo, hi in domain])
        cfg.setdefault("x_scale", [(hi - lo) / 2 for lo, hi in domain])
    return TNP(dim_x=dim_x, equivariant=equivariant, fixed_inputs=fi, **cfg)


def tnp(**cfg: Any) -> TNP:
    """Transformer NP with absolute inputs in its tokens (no symmetry)."""
    return _tnp(False, False, **cfg)


def tetnp(**cfg: Any) -> TNP:
    """Translation-equivariant TNP."""
    if "domain" in cfg:
        raise ValueError("tetnp is strictly equivariant: `domain` is not allowed (use aetetnp)")
    return _tnp(True, False, **cfg)


def aetetnp(**cfg: Any) -> TNP:
    """TE-TNP plus fixed inputs added to its token embeddings."""
    return _tnp(True, True, **cfg)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "convcnp": convcnp,
    "aeconvcnp": aeconvcnp,
    "relaxed_convcnp": relaxed_convcnp,
    "tnp": tnp,
    "tetnp": tetnp,
    "aetetnp": aetetnp,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def build_model(name: str, **config: Any) -> nn.Module:
    """Build model ``name`` from keyword configuration (``None`` values are ignored)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    cfg = {k: v for k, v in config.items() if v is not None}
    model = MODELS[name](**dict(cfg))
    setattr(model, "name", name)  # noqa: B010 - recorded for checkpoints
    setattr(model, "config", _jsonable(cfg))  # noqa: B010
    return model
