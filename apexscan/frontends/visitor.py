"""What every tree-sitter frontend shares: source text and positions, and the pyflakes-style
dispatch — `stmt_<node type>` handlers for statements, `expr_<node type>` handlers returning an
expression's value as a tuple of Inflows. An unknown node type walks its children, or raises
StrictError under `strict=True` (the test suite), so a grammar update degrades gently and the
tests still notice."""
from __future__ import annotations

from tree_sitter import Node

from ..facts import Inflow
from ..model import Location


class StrictError(Exception):
    """Raised in strict mode for a node type the frontend does not know."""


class TreeLowerer:
    # Node types without a statement handler that are lowered as expressions (grammar-specific).
    EXPRESSION_TYPES: frozenset[str] = frozenset()

    def __init__(self, path: str, src: bytes, strict: bool):
        self.path = path
        self.src = src
        self.ascii = src.decode("ascii") if src.isascii() else None
        self.strict = strict
        self.scope = None  # the subclass's current function scope (with a `fid`)

    # --- text and positions ---------------------------------------------------------------------

    def text(self, n: Node) -> str:
        if self.ascii is not None:  # most source is ASCII: byte offsets are string offsets
            return self.ascii[n.start_byte:n.end_byte]
        return self.src[n.start_byte:n.end_byte].decode("utf-8", "replace")

    def short(self, n: Node, limit: int = 60) -> str:
        t = " ".join(self.text(n).split())
        return t if len(t) <= limit else t[: limit - 1] + "…"

    def loc(self, n: Node) -> Location:
        (l1, c1), (l2, c2) = n.start_point, n.end_point
        return Location(self.path, l1 + 1, c1 + 1, l2 + 1, c2 + 1)

    def temp(self, n: Node, tag: str = "") -> str:
        """A node for the value of expression `n` (its span keeps nested calls apart)."""
        (l1, c1), (l2, c2) = n.start_point, n.end_point
        return f"{self.scope.fid}#@{l1 + 1}.{c1 + 1}-{l2 + 1}.{c2 + 1}{tag}"

    def site(self, n: Node, tag: str = "") -> str:
        (l1, c1), (l2, c2) = n.start_point, n.end_point
        return f"{self.path}:{l1 + 1}:{c1 + 1}-{l2 + 1}:{c2 + 1}{tag}"

    def unknown(self, n: Node) -> None:
        if self.strict:
            raise StrictError(f"{self.path}:{n.start_point[0] + 1}: unhandled node type {n.type}")

    # --- dispatch -------------------------------------------------------------------------------

    def stmt(self, n: Node | None) -> None:
        if n is None:
            return
        handler = getattr(self, "stmt_" + n.type, None)
        if handler is None:
            if n.type.endswith("expression") or n.type in self.EXPRESSION_TYPES:
                self.expr(n)
                return
            self.unknown(n)
            handler = self._walk
        handler(n)

    def _walk(self, n: Node) -> None:
        for c in n.named_children:
            self.stmt(c)

    def _skip(self, n: Node) -> None:
        return None

    def expr(self, n: Node | None) -> tuple[Inflow, ...]:
        if n is None:
            return ()
        handler = getattr(self, "expr_" + n.type, None)
        if handler is None:
            self.unknown(n)
            return self._children(n)
        return handler(n)

    def _no_value(self, n: Node) -> tuple[Inflow, ...]:
        return ()

    def _children(self, n: Node) -> tuple[Inflow, ...]:
        out: list[Inflow] = []
        for c in n.named_children:
            out.extend(self.expr(c))
        return tuple(out)
