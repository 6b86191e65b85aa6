"""Parameter count and forward latency per model for one 2-D task.

Task: 100 context points scattered over the UK box (50-58 N, 10 W-2 E) and a 128 x 128 target
grid over the same box, batch 1, default configuration of each model (`models.build_model`),
no gradients. Prints a Markdown table; runs on CPU, and on CUDA too where present.

    python3 benchmarks/forward.py [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import models

UK = [[50.0, 58.0], [-10.0, 2.0]]


def task(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    low, high = torch.tensor([50.0, -10.0]), torch.tensor([58.0, 2.0])
    xc = low + (high - low) * torch.rand(1, 100, 2, generator=g)
    yc = torch.randn(1, 100, 1, generator=g)
    lat, lon = torch.linspace(50, 58, 128), torch.linspace(-10, 2, 128)
    xt = torch.stack(torch.meshgrid(lat, lon, indexing="ij"), -1).reshape(1, -1, 2)
    return xc.to(device), yc.to(device), xt.to(device)


def time_model(name: str, device: torch.device, repeats: int) -> tuple[int, float, float]:
    cfg = {"domain": UK} if name in ("aeconvcnp", "relaxed_convcnp", "aetetnp", "tnp") else {}
    m = models.build_model(name, **cfg).to(device).eval()
    xc, yc, xt = task(device)
    times = []
    with torch.no_grad():
        m(xc, yc, xt)  # warm-up
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            m(xc, yc, xt).mean.sum().item()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    n = sum(p.numel() for p in m.parameters())
    return n, 1000 * statistics.median(times), 1000 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} CPU threads; 100 context points, 128x128 targets, batch 1"
    )
    print()
    print("| model | parameters | device | median ms | min ms |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name in sorted(models.MODELS):
        for dev in devices:
            n, med, best = time_model(name, dev, args.repeats)
            label = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
            print(f"| {name} | {n:,} | {label} | {med:.1f} | {best:.1f} |")


if __name__ == "__main__":
    main()
