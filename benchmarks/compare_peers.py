"""Print an `equigrid evaluate` JSON beside the peers' bar from the issue (Markdown).

python benchmarks/compare_peers.py benchmarks/results/default_model_test.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# best peer per N on the test days (NLL per target in K, RMSE in K), from the issue
PEERS = {"20": (1.48, 1.10), "100": (0.85, 0.63), "400": (0.37, 0.40)}
COVERAGE = (0.93, 0.97)


def main(path: str) -> None:
    res = json.loads(Path(path).read_text())["results"]
    print(
        "| N | model NLL | bar | strict NLL | model RMSE | bar | strict RMSE | coverage | all met |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n, (nll_bar, rmse_bar) in PEERS.items():
        m, s = res[n]["model"], res[n]["model_strict"]
        ok = (
            m["nll"] < nll_bar
            and m["rmse"] < rmse_bar
            and m["nll"] < s["nll"]
            and m["rmse"] < s["rmse"]
            and COVERAGE[0] <= m["coverage95"] <= COVERAGE[1]
        )
        print(
            f"| {n} | {m['nll']:.3f} | {nll_bar:.2f} | {s['nll']:.3f} | {m['rmse']:.3f} "
            f"| {rmse_bar:.2f} | {s['rmse']:.3f} | {m['coverage95']:.3f} "
            f"| {'yes' if ok else 'no'} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
