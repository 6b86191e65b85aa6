"""Which calibration fix works: the shipped model's predictive variance as trained, times
the validation-fitted scale, and plus an observation-noise floor, on the real networks
(leave-stations-out as in ``benchmarks/stations.py``) -- one model pass per network, the
variants applied to its variances.

    python benchmarks/calibration.py [--model BUNDLE] [--data ../shared/data]

Writes ``benchmarks/results/calibration.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import stations as st  # noqa: E402

FLOORS_K2 = (0.0, 0.1, 0.25, 0.5)


def raw_bundle(bundle: Path, tmp: Path) -> Path:
    """A copy of ``bundle`` with its calibration removed (scale 1, no floor)."""
    out = tmp / "raw"
    shutil.copytree(bundle, out)
    doc = json.loads((out / "model.json").read_text())
    doc["metadata"]["calibration"] = {"variance_scale": 1.0, "variance_floor_k2": 0.0}
    (out / "model.json").write_text(json.dumps(doc, indent=2) + "\n")
    return out


def passes(network: str, data: Path, bundle: Path) -> tuple[np.ndarray, ...]:
    df = st.load_network(network, data)
    df["fold"] = df.id.map(st.folds(df.id.to_numpy(), 5, 0))
    client = st.ModelClient(bundle)
    ys, ms, vs = [], [], []
    for _, hour in df.groupby("time"):
        for f in range(5):
            c, t = hour[hour.fold != f], hour[hour.fold == f]
            if len(t) == 0 or len(c) < 5:
                continue
            m, v = client(c, t, False)
            ys.append(t.t.to_numpy())
            ms.append(m)
            vs.append(v)
    return np.concatenate(ys), np.concatenate(ms), np.concatenate(vs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "weights" / "default")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args()
    meta = json.loads((a.model / "model.json").read_text())["metadata"]
    scale = float(meta.get("calibration", {}).get("variance_scale", 1.0))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_bundle(a.model, Path(tmp))
        for net in ("suedtirol", "sao_west"):
            y, m, v = passes(net, a.data, raw)
            for name, s in (("as trained", 1.0), (f"x validation scale {scale:.3f}", scale)):
                for floor in FLOORS_K2:
                    sc = st.scores(y, m, v * s + floor)
                    rows.append({"network": net, "variant": name, "floor_k2": floor} | sc)
    command = "python benchmarks/calibration.py " + shlex.join(sys.argv[1:])
    lines = [
        "| network | variance | + floor (K²) | NLL (K) | RMSE (K) | 95 % coverage |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['variant']} | {r['floor_k2']:.2f} | {r['nll']:.3f} "
            f"| {r['rmse']:.3f} | {r['coverage95']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    a.out.mkdir(parents=True, exist_ok=True)
    doc = {"command": command, "validation_scale": scale, "rows": rows}
    (a.out / "calibration.json").write_text(json.dumps(doc, indent=1) + "\n")
    (a.out / "calibration.md").write_text(f"Command: `{command}`\n\n{text}")


if __name__ == "__main__":
    main()
