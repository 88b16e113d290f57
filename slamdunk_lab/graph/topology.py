"""Order and reachability on plain id graphs (no recursion, so 10,000-node graphs are fine)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


def toposort(ids: Iterable[str], links: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Kahn's algorithm: returns (ids in dependency order, ids caught in or behind a cycle).

    Ties keep the order of ``ids``, so the same graph always gives the same order.
    """
    ids = list(ids)
    rank = {n: i for i, n in enumerate(ids)}
    succ: dict[str, list[str]] = {n: [] for n in ids}
    indeg = {n: 0 for n in ids}
    for a, b in links:
        if a in succ and b in indeg:
            succ[a].append(b)
            indeg[b] += 1
    ready = deque(sorted((n for n in ids if indeg[n] == 0), key=rank.__getitem__))
    order: list[str] = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    done = set(order)
    return order, [n for n in ids if n not in done]


def reachable(start: Iterable[str], links: Iterable[tuple[str, str]]) -> set[str]:
    """Every id reachable from ``start`` by following ``links`` forwards (start included)."""
    succ: dict[str, list[str]] = {}
    for a, b in links:
        succ.setdefault(a, []).append(b)
    seen = set(start)
    todo = deque(seen)
    while todo:
        n = todo.popleft()
        for m in succ.get(n, ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen
