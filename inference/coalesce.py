"""Which queries may share one model call: the coalescing rule of the batched predictor.

A ConvCNP computes one lattice window for a whole batch: the smallest window covering every
query's (``lattice_window``). A query gets exactly its own answer inside a larger window
when (a) the window's start differs from its own by a multiple of the UNet's stride
``multiple`` in every dimension (the strided levels keep their phase), and (b) its targets
stay at least the margin (the receptive radius and more) from the window's edges, which
holds for any covering window. So queries are grouped by ``equivariant_only`` and their
window start modulo ``multiple``, and within a group merged greedily while the union
window stays within ``max_growth`` times the largest member's cells (bounding the extra
work and memory that padding windows costs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Window = tuple[tuple[int, ...], tuple[int, ...]]  # (start, shape)


def union(a: Window, b: Window) -> Window:
    """The smallest window covering ``a`` and ``b`` (before rounding to the stride)."""
    start = tuple(min(x, y) for x, y in zip(a[0], b[0], strict=True))
    end = tuple(max(x + n, y + m) for x, n, y, m in zip(a[0], a[1], b[0], b[1], strict=True))
    return start, tuple(e - s for s, e in zip(start, end, strict=True))


def groups(
    windows: Sequence[Window | None],
    equivariant_only: Sequence[bool],
    multiple: int,
    max_growth: float = 1.5,
) -> list[list[int]]:
    """Indices of the queries to run together; a query without a window runs alone."""
    out: list[list[int]] = []
    open_groups: dict[tuple[object, ...], list[tuple[list[int], Window, int]]] = {}
    for i, (w, eq) in enumerate(zip(windows, equivariant_only, strict=True)):
        if w is None:
            out.append([i])
            continue
        key = (eq, tuple(s % multiple for s in w[0]))
        for k, (members, win, largest) in enumerate(open_groups.get(key, [])):
            merged = union(win, w)
            biggest = max(largest, math.prod(w[1]))
            if math.prod(merged[1]) <= max_growth * biggest:
                open_groups[key][k] = ([*members, i], merged, biggest)
                break
        else:
            open_groups.setdefault(key, []).append(([i], w, math.prod(w[1])))
    out += [members for gs in open_groups.values() for members, _, _ in gs]
    return sorted(out)
