"""The library's top-level modules import each other without a circle.

The reference is the source itself: every `import` statement of alpha/*.py (module level and
inside functions, read with `ast`), restricted to imports of other top-level alpha modules. The
sampler core once imported the Quick Start for a base class while the Quick Start imported the
engine, which imports the sampler; the original's methods now live in alpha/original_methods.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

ALPHA = Path(__file__).resolve().parents[1] / "alpha"


def _graph() -> dict[str, set[str]]:
    mods = {p.stem for p in ALPHA.glob("*.py") if p.stem != "__init__"}
    graph = {}
    for m in mods:
        deps = set()
        for node in ast.walk(ast.parse((ALPHA / f"{m}.py").read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                parts = name.split(".")
                if len(parts) >= 2 and parts[0] == "alpha" and parts[1] in mods and parts[1] != m:
                    deps.add(parts[1])
        graph[m] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_circle_among_the_library_modules():
    graph = _graph()
    assert "quickstart" not in graph["sampler"] and "sampler" in graph["generation"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
