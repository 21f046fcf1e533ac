"""What every tree-sitter frontend shares: source text and positions, and the pyflakes-style
dispatch — `stmt_<node type>` handlers for statements, `expr_<node type>` handlers returning an
expression's value as a tuple of Inflows, `str_<node type>` handlers returning the string an
expression may hold (a StrExpr, for endpoints). An unknown node type walks its children, or raises
StrictError under `strict=True` (the test suite), so a grammar update degrades gently and the
tests still notice; a string expression of an unknown type is ("unknown", its text).

Handlers are looked up once per node kind and cached on the lowerer class, as pyflakes does,
instead of by name on every node (a name built, a getattr, and a failed one for each expression
used as a statement). The cache is keyed by `Node.kind_id`, which is numbered per grammar, so one
lowerer class reads one grammar."""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import Callable

from tree_sitter import Node

from apexscan.engine.facts import Inflow, StrExpr
from apexscan.engine.model import Location

SHORT = 60  # characters of source text kept for a message
_CONTINUATION = re.compile(rb"[\x80-\xbf]")  # a byte inside a UTF-8 character, not its first


def shorten(text: str, limit: int = SHORT) -> str:
    """`text` cut to `limit` characters; shortening a text cut to a larger limit gives the same."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def descendants(n: Node, kind: str):
    """Every node of type `kind` in the tree under `n` (`n` and nested ones included), in no set order."""
    stack = [n]
    while stack:
        cur = stack.pop()
        if cur.type == kind:
            yield cur
        stack.extend(cur.named_children)


class StrictError(Exception):
    """Raised in strict mode for a node type the frontend does not know."""


class TreeLowerer:
    # Node types without a statement handler that are lowered as expressions (grammar-specific).
    EXPRESSION_TYPES: frozenset[str] = frozenset()
    # kind_id -> handler function, filled on first use; each subclass gets its own (below).
    _stmt_handlers: dict[int, Callable] = {}
    _expr_handlers: dict[int, Callable] = {}
    _str_handlers: dict[int, Callable] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._stmt_handlers = {}
        cls._expr_handlers = {}
        cls._str_handlers = {}

    def __init__(self, path: str, src: bytes, strict: bool):
        self.path = path
        self.src = src
        self.ascii = src.decode("ascii") if src.isascii() else None
        self._continuations: list[int] | None = None  # offsets of UTF-8 continuation bytes, on first use
        self.strict = strict
        self.scope = None  # the subclass's current function scope (with a `fid`)

    # --- text and positions ---------------------------------------------------------------------

    def text(self, n: Node) -> str:
        if self.ascii is not None:  # (span_text inlined: this runs for most nodes)
            return self.ascii[n.start_byte:n.end_byte]
        return self.src[n.start_byte:n.end_byte].decode("utf-8", "replace")

    def span_text(self, start: int, end: int) -> str:
        """The source text between two byte offsets."""
        if self.ascii is not None:  # most source is ASCII: byte offsets are string offsets
            return self.ascii[start:end]
        return self.src[start:end].decode("utf-8", "replace")

    def short(self, n: Node, limit: int = SHORT) -> str:
        """The node's text on one line, cut to `limit` characters (for messages)."""
        # Only a prefix of a long node is read (a call chain can span the whole file): with
        # whitespace collapsed, a prefix of the text is a prefix of the whole, so once it is
        # longer than `limit` the rest cannot change the result.
        start, end = n.start_byte, n.end_byte
        cut = min(end, start + 4 * limit)
        t = " ".join(self.span_text(start, cut).split())
        if len(t) <= limit and cut < end:
            t = " ".join(self.span_text(start, end).split())
        return shorten(t, limit)

    def loc(self, n: Node) -> Location:
        """Where `n` is, columns counted in characters (tree-sitter counts bytes): what editors,
        SARIF viewers and the XML frontends count, even on lines with accents or umlauts."""
        (l1, c1), (l2, c2) = n.start_point, n.end_point
        return Location(self.path, l1 + 1, self._chars(n.start_byte, c1) + 1,
                        l2 + 1, self._chars(n.end_byte, c2) + 1)

    def _chars(self, offset: int, byte_col: int) -> int:
        """The column, in characters, of byte `offset`, `byte_col` bytes into its line. Counted
        from the positions of UTF-8 continuation bytes, not by decoding the line up to here: a
        file can be one line of megabytes, and that would be quadratic."""
        if self.ascii is not None or byte_col == 0:
            return byte_col
        if self._continuations is None:
            self._continuations = [m.start() for m in _CONTINUATION.finditer(self.src)]
        return byte_col - (bisect_left(self._continuations, offset)
                           - bisect_left(self._continuations, offset - byte_col))

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
        handler = self._stmt_handlers.get(n.kind_id)
        if handler is None:
            handler = self._stmt_handlers[n.kind_id] = self._stmt_handler(n.type)
        handler(self, n)

    @classmethod
    def _stmt_handler(cls, kind: str) -> Callable:
        handler = getattr(cls, "stmt_" + kind, None)
        if handler is not None:
            return handler
        if kind.endswith("expression") or kind in cls.EXPRESSION_TYPES:
            return TreeLowerer._stmt_as_expression
        return TreeLowerer._stmt_unknown

    def _stmt_as_expression(self, n: Node) -> None:
        self.expr(n)

    def _stmt_unknown(self, n: Node) -> None:
        self.unknown(n)
        self._walk(n)

    def _walk(self, n: Node) -> None:
        for c in n.named_children:
            self.stmt(c)

    def _skip(self, n: Node) -> None:
        return None

    def expr(self, n: Node | None) -> tuple[Inflow, ...]:
        if n is None:
            return ()
        handler = self._expr_handlers.get(n.kind_id)
        if handler is None:
            handler = self._expr_handlers[n.kind_id] = self._expr_handler(n.type)
        return handler(self, n)

    @classmethod
    def _expr_handler(cls, kind: str) -> Callable:
        return getattr(cls, "expr_" + kind, TreeLowerer._expr_unknown)

    def _expr_unknown(self, n: Node) -> tuple[Inflow, ...]:
        self.unknown(n)
        return self._children(n)

    def _no_value(self, n: Node) -> tuple[Inflow, ...]:
        return ()

    def _children(self, n: Node) -> tuple[Inflow, ...]:
        out: list[Inflow] = []
        for c in n.named_children:
            out.extend(self.expr(c))
        return tuple(out)

    def strexpr(self, n: Node | None) -> StrExpr:
        if n is None:
            return ()
        handler = self._str_handlers.get(n.kind_id)
        if handler is None:
            handler = self._str_handlers[n.kind_id] = getattr(type(self), "str_" + n.type, TreeLowerer._str_unknown)
        return handler(self, n)

    def _str_unknown(self, n: Node) -> StrExpr:
        return (("unknown", self.short(n)),)
