"""A reader for the DataWeave 2 that Mule apps write, enough to follow data field by field.

Not an interpreter: `parse` turns a script (with or without its `%dw 2.0 ... ---` header) into a
small tree by recursive descent, and `Evaluator` computes, for each expression, which parts of the
event it carries, as `Inflow`s (a place, the fields read from it, and what happened to it after):

* field-sensitive where the script uses plain selectors: `payload.Email`, `vars.client.IBAN__c`,
  `payload[0].Name`, `payload.*Contacts`, `payload..Id`, `{email: payload.Email}` (stored under
  "email"), `payload map { e: $.Email }` and `payload map (c) -> c.Email` (the lambda sees the
  elements of the collection), `if`/`match`/`default` (either side), `do { var x = ... --- }`,
  header `var`s and `fun`ctions (inlined, a few levels deep);
* whole-value otherwise: a record turned into text (`write(payload)`, `++` with a string,
  `as String`, string interpolation) carries every field it holds; a function the model
  (data/mule_models.toml [dataweave]) does not know gets its arguments as text, whole;
* nothing for values that carry no data (sizes, tests, `now()`, `p('key')`, comparisons).

What it cannot read raises `DataWeaveError` with the offset; the caller reports a diagnostic and
falls back to `mentions`, which finds every `payload...` and `vars.x...` the text names (whole
values). Bounded: scripts over MAX_CHARS or MAX_TOKENS, and nesting deeper than MAX_DEPTH, are
refused the same way.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from apexscan.engine.facts import Inflow, Ref
from apexscan.salesforce import mule_models as M

MAX_CHARS = 200_000
MAX_TOKENS = 50_000
MAX_DEPTH = 120  # nesting of the tree (parser) and of evaluation
MAX_INLINE = 6  # user functions inlined inside each other
CONCAT = ("collapse", "concatenated")
SERIALIZED = ("collapse", "serialized")


class DataWeaveError(ValueError):
    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


# --- tokens ---------------------------------------------------------------------------------------

_PUNCT = ("..*", "...", "---", "++", "--", "->", ">>", "==", "!=", "<=", ">=", "~=", "..", ".*", ".^", ".@", ".#", ".&",
          ".?", "{|", "|}", "[@", "[*", "::", "!", "?", ".", ",", ":", "(", ")", "[", "]", "{", "}", "<", ">", "+",
          "-", "*", "/", "=", "@", "|", "^", "#", "&", "~")
# names, with module paths (dw::core::Strings::repeat) and Java static methods (java!a::b::C::m)
_IDENT = re.compile(r"[A-Za-z_][\w]*(?:::[A-Za-z_][\w]*)*(?:![A-Za-z_][\w]*(?:::[A-Za-z_][\w$]*)+)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DOLLARS = re.compile(r"\$+")
_DATE = re.compile(r"\|[^|\n]{1,40}\|")
# After these tokens a "/" starts a regular expression, not a division.
_REGEX_AFTER = frozenset({"(", ",", ":", "=", "->", "==", "!=", "~=", "[", "{", "replace", "matches", "match", "scan",
                          "splitBy", "with", "contains", "find", "and", "or", "not", "case", "if", "else", "---"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "id", "num", "str", "regex", "date", "op", "dollar", "end"
    text: str
    pos: int
    parts: tuple = ()  # for "str": literal text and ("expr", source, offset) pieces


def tokenize(src: str, base: int = 0) -> list[Token]:
    if len(src) > MAX_CHARS:
        raise DataWeaveError(f"script longer than {MAX_CHARS} characters", base)
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        if src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end
            continue
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise DataWeaveError("unterminated comment", base + i)
            i = end + 2
            continue
        if len(out) > MAX_TOKENS:
            raise DataWeaveError(f"script has more than {MAX_TOKENS} tokens", base + i)
        if ch in "\"'`":
            token, i = _string(src, i, base)
            out.append(token)
            continue
        if ch == "/" and (not out or out[-1].text in _REGEX_AFTER or out[-1].kind == "op" and out[-1].text not in ")]}"):
            end = _regex_end(src, i)
            if end > 0:
                out.append(Token("regex", src[i:end], base + i))
                i = end
                continue
        if ch == "|":
            m = _DATE.match(src, i)
            if m and not src.startswith("|}", i):
                out.append(Token("date", m.group(), base + i))
                i = m.end()
                continue
        m = _IDENT.match(src, i)
        if m:
            out.append(Token("id", m.group(), base + i))
            i = m.end()
            continue
        m = _NUMBER.match(src, i)
        if m:
            out.append(Token("num", m.group(), base + i))
            i = m.end()
            continue
        if ch == "$":
            m = _DOLLARS.match(src, i)
            out.append(Token("dollar", m.group(), base + i))
            i = m.end()
            continue
        for p in _PUNCT:
            if src.startswith(p, i):
                out.append(Token("op", p, base + i))
                i += len(p)
                break
        else:
            raise DataWeaveError(f"unexpected character {ch!r}", base + i)
    out.append(Token("end", "", base + n))
    return out


def _regex_end(src: str, i: int) -> int:
    j = i + 1
    while j < len(src) and src[j] != "\n":
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == "/":
            return j + 1
        j += 1
    return -1


def _string(src: str, i: int, base: int) -> tuple[Token, int]:
    """A quoted string; `$(expr)` and `$name` inside double or single quotes are interpolations."""
    quote = src[i]
    j = i + 1
    parts: list = []
    text: list[str] = []
    while j < len(src):
        ch = src[j]
        if ch == "\\" and j + 1 < len(src):
            text.append(src[j + 1])
            j += 2
            continue
        if ch == quote:
            if text:
                parts.append("".join(text))
            return Token("str", src[i:j + 1], base + i, tuple(parts)), j + 1
        if ch == "$" and quote != "`" and j + 1 < len(src) and src[j + 1] == "(":
            depth, k = 1, j + 2
            while k < len(src) and depth:
                if src[k] == "(":
                    depth += 1
                elif src[k] == ")":
                    depth -= 1
                elif src[k] in "\"'":
                    _, k = _string(src, k, base)
                    continue
                k += 1
            if depth:
                raise DataWeaveError("unterminated $( ) in a string", base + j)
            if text:
                parts.append("".join(text))
                text = []
            parts.append(("expr", src[j + 2:k - 1], base + j + 2))
            j = k
            continue
        if ch == "$" and quote != "`" and j + 1 < len(src) and (src[j + 1].isalpha() or src[j + 1] == "_"):
            m = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*").match(src, j + 1)
            if text:
                parts.append("".join(text))
                text = []
            parts.append(("expr", m.group(), base + j + 1))
            j = m.end()
            continue
        text.append(ch)
        j += 1
    raise DataWeaveError("unterminated string", base + i)


# --- the tree -------------------------------------------------------------------------------------
# Nodes are tuples (kind, offset, ...):
#   ("id", o, name) ("lit", o) ("str", o, parts) ("sel", o, base, how, name-or-node) ("obj", o, entries)
#   ("arr", o, items) ("call", o, callee, args) ("lambda", o, params, body) ("bin", o, op, a, b)
#   ("un", o, op, a) ("if", o, cond, then, else) ("match", o, subject, cases) ("do", o, decls, body)
#   ("as", o, a, type) ("dollar", o, text)
#   object entries: ("kv", key, value) with key ("name", text) | ("expr", node); ("spread", node)
#   match cases: (binding name or "", guard node or None, body)


@dataclass
class Script:
    body: tuple
    vars: dict[str, tuple] = field(default_factory=dict)
    funs: dict[str, tuple[tuple[str, ...], tuple]] = field(default_factory=dict)
    output: str = ""  # the output MIME type ("application/json"), "" when not declared


_HEADER_SEP = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)
_STARTS_WITH_DIRECTIVE = re.compile(r"\s*(%dw|output|import|var|fun|ns|type|input)\b")


def parse(src: str, base: int = 0) -> Script:
    """A whole script: an optional header (`%dw 2.0`, `output`, `import`, `var`, `fun`, `ns`, `type`)
    then `---` and the body; or a body alone (inline `#[...]` expressions)."""
    script = Script(("lit", base))
    split = _split_header(src)
    if split is None:
        body_src, body_base = src, base
    else:
        start, end = split
        _read_header(src[:start], base, script)
        body_src, body_base = src[end:], base + end
        if not body_src.strip():
            return script  # a header and no body
    script.body = _Parser(tokenize(body_src, body_base)).expression_all()
    return script


def _split_header(src: str) -> tuple[int, int] | None:
    """(start, end) of the `---` that ends the header, None when there is no header."""
    m = _HEADER_SEP.search(src)
    if m is not None and (_STARTS_WITH_DIRECTIVE.match(src) or _looks_like_header(src[:m.start()])):
        return m.start(), m.end()
    if _STARTS_WITH_DIRECTIVE.match(src):  # `output application/java --- {...}` on one line
        at = src.find("---")
        return (at, at + 3) if at >= 0 else (len(src), len(src))
    return None


def _looks_like_header(text: str) -> bool:
    return bool(re.search(r"^\s*(%dw|output|import|var|fun|ns|type|input)\b", text, re.MULTILINE))


_DIRECTIVE = re.compile(r"^[ \t]*(%dw|output|import|var|fun|ns|type|input)\b", re.MULTILINE)


def _read_header(header: str, base: int, script: Script) -> None:
    starts = [m.start() for m in _DIRECTIVE.finditer(header)] + [len(header)]
    for a, b in zip(starts, starts[1:]):
        chunk = header[a:b]
        word = chunk.split(None, 1)[0]
        if word == "output":
            script.output = chunk.split(None, 2)[1] if len(chunk.split()) > 1 else ""
        elif word == "var":
            tokens = tokenize(chunk, base + a)
            p = _Parser(tokens)
            p.expect_id("var")
            name = p.name()
            if p.peek("op", ":"):  # a type annotation
                p.skip_type()
            p.expect("op", "=")
            script.vars[name] = p.expression_all()
        elif word == "fun":
            tokens = tokenize(chunk, base + a)
            p = _Parser(tokens)
            p.expect_id("fun")
            name = p.name()
            params = p.params()
            if p.peek("op", ":"):
                p.skip_type()
            p.expect("op", "=")
            script.funs[name] = (params, p.expression_all())


_BINARY = [  # lowest precedence first
    ("default",), ("or",), ("and",), ("==", "!=", "~="), ("<", ">", "<=", ">=", "is"), ("++", "--"),
    ("+", "-"), ("*", "/"), (">>",),
]
_WORD_OPERATORS = frozenset({"default", "or", "and", "is", "as", "not", "if", "else", "match", "case", "do",
                             "using", "unless", "otherwise", "update", "at"})


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    # tokens
    def tok(self) -> Token:
        return self.t[self.i]

    def peek(self, kind: str, text: str | None = None, ahead: int = 0) -> bool:
        t = self.t[min(self.i + ahead, len(self.t) - 1)]
        return t.kind == kind and (text is None or t.text == text)

    def next(self) -> Token:
        t = self.t[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def expect(self, kind: str, text: str) -> Token:
        if not self.peek(kind, text):
            t = self.tok()
            raise DataWeaveError(f"expected {text!r}, found {t.text or 'the end'!r}", t.pos)
        return self.next()

    def expect_id(self, word: str) -> None:
        self.expect("id", word)

    def name(self) -> str:
        t = self.tok()
        if t.kind != "id":
            raise DataWeaveError(f"expected a name, found {t.text or 'the end'!r}", t.pos)
        self.next()
        return t.text

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise DataWeaveError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok().pos)

    # grammar
    def expression_all(self) -> tuple:
        node = self.expression()
        if not self.peek("end"):
            t = self.tok()
            raise DataWeaveError(f"unexpected {t.text!r}", t.pos)
        return node

    def expression(self) -> tuple:
        self.enter()
        try:
            t = self.tok()
            if t.kind == "id" and t.text == "if":
                return self.if_expr()
            if t.kind == "id" and t.text == "do" and self.peek("op", "{", 1):
                return self.do_expr()
            if t.kind == "id" and t.text == "using" and self.peek("op", "(", 1):
                return self.using_expr()
            return self.binary(0)
        finally:
            self.depth -= 1

    def if_expr(self) -> tuple:
        pos = self.next().pos
        self.expect("op", "(")
        cond = self.expression()
        self.expect("op", ")")
        then = self.expression()
        other: tuple = ("lit", pos)
        if self.peek("id", "else"):
            self.next()
            other = self.expression()
        return ("if", pos, cond, then, other)

    def do_expr(self) -> tuple:
        pos = self.next().pos
        self.expect("op", "{")
        decls: list[tuple[str, tuple]] = []
        while not self.peek("op", "---") and not self.peek("end"):
            word = self.name()
            if word == "var":
                name = self.name()
                if self.peek("op", ":"):
                    self.skip_type()
                self.expect("op", "=")
                decls.append((name, self.expression()))
            elif word == "fun":
                name = self.name()
                params = self.params()
                if self.peek("op", ":"):
                    self.skip_type()
                self.expect("op", "=")
                decls.append((name, ("lambda", pos, params, self.expression())))
            else:
                raise DataWeaveError(f"unexpected {word!r} in a do block", self.tok().pos)
        self.expect("op", "---")
        body = self.expression()
        self.expect("op", "}")
        return ("do", pos, tuple(decls), body)

    def using_expr(self) -> tuple:
        pos = self.next().pos
        self.expect("op", "(")
        decls = []
        while True:
            name = self.name()
            self.expect("op", "=")
            decls.append((name, self.expression()))
            if not self.peek("op", ","):
                break
            self.next()
        self.expect("op", ")")
        return ("do", pos, tuple(decls), self.expression())

    def binary(self, level: int) -> tuple:
        if level >= len(_BINARY):
            return self.infix_call()
        left = self.binary(level + 1)
        ops = _BINARY[level]
        while True:
            t = self.tok()
            if (t.kind == "op" or t.kind == "id" and t.text in _WORD_OPERATORS) and t.text in ops:
                self.next()
                if t.text == "is":
                    self.skip_type()
                    left = ("bin", t.pos, "is", left, ("lit", t.pos))
                    continue
                if t.text == "++" and self._key_ahead():  # `{a: 1} ++ b: 2` adds one key-value pair
                    right = self.key_value_object()
                else:
                    right = self.binary(level + 1)
                left = ("bin", t.pos, t.text, left, right)
            else:
                return left

    def _key_ahead(self) -> bool:
        """A `key:` (or `ns#key:`) starts here: a key-value pair outside braces."""
        t = self.tok()
        if t.kind not in ("id", "str"):
            return False
        if t.kind == "id" and self.peek("op", "#", 1) and (self.peek("id", None, 2) or self.peek("str", None, 2)):
            return self.peek("op", ":", 3) or self.peek("op", "@", 3)
        return self.peek("op", ":", 1) or t.kind == "id" and self.peek("op", "@", 1) and self.peek("op", "(", 2)

    def key_value_object(self) -> tuple:
        pos = self.tok().pos
        key = self.key()
        while self.peek("op", "@") or self.peek("op", "?"):
            if self.next().text == "@":
                self._skip_group("(", ")")
        self.expect("op", ":")
        return ("obj", pos, (("kv", key, self.expression()),))

    def infix_call(self) -> tuple:
        """`a map (x) -> e`, `a splitBy ","`, `a match { ... }`, `a as String`: left-associative."""
        left = self.unary()
        while True:
            t = self.tok()
            if t.kind == "id" and t.text == "as":
                self.next()
                type_name = self.skip_type()
                left = ("as", t.pos, left, type_name)
                continue
            if t.kind == "id" and t.text == "match" and self.peek("op", "{", 1):
                self.next()
                left = self.match_cases(left, t.pos)
                continue
            if t.kind == "id" and t.text == "update" and self.peek("op", "{", 1):
                self.next()
                left = self.update_cases(left, t.pos)
                continue
            if t.kind == "id" and t.text == "unless":  # `a unless c otherwise b`
                self.next()
                cond = self.binary(0)
                self.expect_id("otherwise")
                left = ("if", t.pos, cond, self.binary(0), left)
                continue
            if t.kind == "id" and t.text not in _WORD_OPERATORS and self._starts_operand(1):
                self.next()
                right = self.unary()
                if t.text == "replace" and self.peek("id", "with"):
                    self.next()
                    right = ("arr", t.pos, (right, self.unary()))
                left = ("call", t.pos, ("id", t.pos, t.text), (left, right))
                continue
            return left

    def _starts_operand(self, ahead: int) -> bool:
        t = self.t[min(self.i + ahead, len(self.t) - 1)]
        if t.kind in ("id", "num", "str", "regex", "date", "dollar"):
            return not (t.kind == "id" and t.text in ("else", "case", "default", "or", "and", "is", "as"))
        return t.kind == "op" and t.text in ("(", "[", "{", "-", "!", "{|")

    def match_cases(self, subject: tuple, pos: int) -> tuple:
        """`value match { case [name] [pattern] [if cond] -> body ... else -> body }`."""
        return ("match", pos, subject, self.cases(update=False))

    def update_cases(self, subject: tuple, pos: int) -> tuple:
        """`value update { case [name at] .field[...] [if cond] -> new }`: the value, with the new parts."""
        return ("bin", pos, "update", subject, ("match", pos, subject, self.cases(update=True)))

    def cases(self, update: bool) -> tuple:
        """The `case ... -> body` list of a match or update block; patterns are skipped (every case
        may apply), a name bound by the case sees the matched value."""
        self.expect("op", "{")
        cases = []
        while not self.peek("op", "}") and not self.peek("end"):
            if not update and self.peek("id", "else"):
                self.next()
                if self.peek("op", "->"):
                    self.next()
                cases.append(("", None, self.expression()))
                continue
            self.expect_id("case")
            binding, guard = "", None
            if update and self.peek("id") and self.peek("id", "at", 1):
                binding = self.next().text
                self.next()
            elif not update and self.peek("id") and self.tok().text != "is" and (
                    self.peek("id", "if", 1) or self.peek("op", "->", 1) or self.peek("id", "matches", 1)
                    or self.peek("op", ":", 1)):
                binding = self.next().text
            while not self.peek("op", "->") and not self.peek("id", "if") and not self.peek("end"):
                if not update and self.peek("id", "is"):
                    self.next()
                    self.skip_type()
                elif update and (self.peek("op", "(") or self.peek("op", "[")):
                    self._skip_group(self.tok().text, ")" if self.tok().text == "(" else "]")
                else:
                    self.next()
            if self.peek("id", "if"):
                self.next()
                guard = self.binary(0)
            self.expect("op", "->")
            cases.append((binding, guard, self.expression()))
        self.expect("op", "}")
        return tuple(cases)

    def unary(self) -> tuple:
        t = self.tok()
        if t.kind == "op" and t.text in ("-", "!") or t.kind == "id" and t.text == "not":
            self.next()
            self.enter()
            try:
                return ("un", t.pos, t.text, self.unary())
            finally:
                self.depth -= 1
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            t = self.tok()
            if t.kind != "op":
                return node
            if t.text in (".", ".*", "..", "..*", ".@", ".^", ".#", ".&"):
                self.next()
                how = {".": "field", ".*": "multi", "..": "desc", "..*": "desc", ".@": "attr", ".^": "meta",
                       ".#": "meta", ".&": "field"}[t.text]
                if self.peek("op", "(") and how == "field":  # `.(expr)`? not DataWeave: a dynamic key
                    self.next()
                    key = self.expression()
                    self.expect("op", ")")
                    node = ("sel", t.pos, node, "dyn", key)
                    continue
                nt = self.tok()
                if nt.kind == "id":
                    self.next()
                    name = nt.text
                    if self.peek("op", "#") and (self.peek("id", None, 1) or self.peek("str", None, 1)):
                        self.next()  # ns0#Name: the local name
                        qualified = self.next()
                        name = qualified.text if qualified.kind == "id" else \
                            "".join(p for p in qualified.parts if isinstance(p, str))
                elif nt.kind == "str":
                    self.next()
                    name = "".join(p for p in nt.parts if isinstance(p, str))
                elif nt.kind == "op" and nt.text == "*" and how == "desc":
                    self.next()
                    name = "*"
                elif how in ("attr", "meta"):
                    name = ""  # `.@` (all attributes), `.^` alone
                elif nt.kind == "op" and nt.text in ("*", "^", "@"):
                    self.next()
                    name = "*"
                else:
                    raise DataWeaveError(f"expected a field name after {t.text!r}", nt.pos)
                node = ("sel", t.pos, node, how, name)
                continue
            if t.text == ".?":
                self.next()
                name = self.name() if self.peek("id") else ""
                node = ("sel", t.pos, node, "test", name)
                continue
            if t.text in ("[", "[*", "[@"):
                self.next()
                if self.peek("op", "?") and self.peek("op", "(", 1):  # filter selector [?( ... )]
                    self.next()
                    self.next()
                    cond = self.expression()
                    self.expect("op", ")")
                    self.expect("op", "]")
                    node = ("sel", t.pos, node, "filter", cond)
                    continue
                if self.peek("op", "]"):
                    self.next()
                    continue
                index = self.expression()
                if self.peek("id", "to"):
                    self.next()
                    self.expression()
                self.expect("op", "]")
                kind = "index" if index[0] == "lit" and self.t[self.i - 2].kind == "num" or index[0] == "un" \
                    else "key" if index[0] == "str" else "dyn"
                node = ("sel", t.pos, node, kind, _str_value(index) if kind == "key" else index)
                continue
            if t.text == "(":
                self.next()
                args = []
                while not self.peek("op", ")"):
                    args.append(self.expression())
                    if self.peek("op", ","):
                        self.next()
                    elif not self.peek("op", ")"):
                        raise DataWeaveError(f"expected ',' or ')', found {self.tok().text!r}", self.tok().pos)
                self.next()
                node = ("call", t.pos, node, tuple(args))
                continue
            if t.text in ("!", "?") and not self.peek("op", "(", 1):
                self.next()
                node = node if t.text == "!" else ("sel", t.pos, node, "test", "")
                continue
            return node

    def primary(self) -> tuple:
        t = self.tok()
        if t.kind == "id":
            if t.text in ("true", "false", "null"):
                self.next()
                return ("lit", t.pos)
            if t.text == "if" or t.text in ("do", "using") and self.peek("op", "{" if t.text == "do" else "(", 1):
                return self.expression()
            if self._key_ahead():  # `root: {...}`: an object of one key-value pair, without braces
                return self.key_value_object()
            if self.peek("op", "->", 1):  # `x -> body`
                self.next()
                self.next()
                return ("lambda", t.pos, (t.text,), self.expression())
            self.next()
            return ("id", t.pos, t.text)
        if t.kind in ("num", "regex", "date"):
            self.next()
            return ("lit", t.pos)
        if t.kind == "str" and self._key_ahead():
            return self.key_value_object()
        if t.kind == "str":
            self.next()
            parts = []
            for p in t.parts:
                if isinstance(p, str):
                    parts.append(p)
                else:
                    self.enter()
                    try:
                        inner = _Parser(tokenize(p[1], p[2]))
                        inner.depth = self.depth
                        parts.append(inner.expression_all())
                    finally:
                        self.depth -= 1
            return ("str", t.pos, tuple(parts))
        if t.kind == "dollar":
            self.next()
            return ("dollar", t.pos, t.text)
        if t.kind == "op" and t.text == "(":
            if self._lambda_ahead():
                return self.lambda_expr()
            self.next()
            self.enter()
            try:
                node = self.expression()
            finally:
                self.depth -= 1
            self.expect("op", ")")
            return node
        if t.kind == "op" and t.text in ("{", "{|"):
            return self.object_literal()
        if t.kind == "op" and t.text == "[":
            self.next()
            items = []
            self.enter()
            try:
                while not self.peek("op", "]"):
                    items.append(self.expression())
                    if self.peek("op", ","):
                        self.next()
                    elif not self.peek("op", "]"):
                        raise DataWeaveError(f"expected ',' or ']', found {self.tok().text!r}", self.tok().pos)
            finally:
                self.depth -= 1
            self.next()
            return ("arr", t.pos, tuple(items))
        if t.kind == "op" and t.text == "@":  # annotation: skip @Name(...)
            self.next()
            self.name()
            if self.peek("op", "("):
                self._skip_group("(", ")")
            return self.primary()
        raise DataWeaveError(f"unexpected {t.text or 'end of script'!r}", t.pos)

    def _lambda_ahead(self) -> bool:
        """Whether the "(" here opens a lambda's parameter list: `(a, b = 1) -> ...`."""
        depth, j = 0, self.i
        while j < len(self.t):
            t = self.t[j]
            if t.kind == "op" and t.text == "(":
                depth += 1
            elif t.kind == "op" and t.text == ")":
                depth -= 1
                if depth == 0:
                    return self.t[j + 1].kind == "op" and self.t[j + 1].text == "->" if j + 1 < len(self.t) else False
            elif t.kind == "end":
                return False
            j += 1
            if j - self.i > 200:
                return False
        return False

    def lambda_expr(self) -> tuple:
        pos = self.tok().pos
        params = self.params()
        self.expect("op", "->")
        return ("lambda", pos, params, self.expression())

    def params(self) -> tuple[str, ...]:
        self.expect("op", "(")
        names = []
        while not self.peek("op", ")"):
            names.append(self.name())
            if self.peek("op", ":"):
                self.skip_type()
            if self.peek("op", "="):
                self.next()
                self.expression()  # a default value
            if self.peek("op", ","):
                self.next()
            elif not self.peek("op", ")"):
                raise DataWeaveError(f"expected ',' or ')' in parameters, found {self.tok().text!r}", self.tok().pos)
        self.next()
        return tuple(names)

    def skip_type(self) -> str:
        """A type after `:`, `as` or `is`: a name with optional <...> arguments and {...} schema."""
        if self.peek("op", ":"):
            self.next()
        t = self.tok()
        name = ""
        if t.kind == "id":
            name = self.next().text
        elif t.kind == "op" and t.text in ("{", "{|", "("):
            self._skip_group(t.text, {"{": "}", "{|": "|}", "(": ")"}[t.text])
        if self.peek("op", "<"):
            self._skip_group("<", ">")
        if self.peek("op", "{"):  # `as String {format: "..."}`
            self._skip_group("{", "}")
        while self.peek("op", "|") and self.peek("id", None, 1):
            self.next()
            self.next()
        return name

    def _skip_group(self, open_: str, close: str) -> None:
        depth = 0
        while not self.peek("end"):
            t = self.next()
            if t.kind == "op" and t.text == open_:
                depth += 1
            elif t.kind == "op" and t.text == close:
                depth -= 1
                if depth == 0:
                    return
        raise DataWeaveError(f"unterminated {open_}", self.tok().pos)

    def object_literal(self) -> tuple:
        t = self.next()
        close = "|}" if t.text == "{|" else "}"
        entries = []
        self.enter()
        try:
            while not self.peek("op", close):
                if self.peek("op", "(") and not self._key_value_ahead():
                    self.next()
                    inner = self.expression()
                    self.expect("op", ")")
                    entries.append(("spread", inner))
                else:
                    key = self.key()
                    while self.peek("op", "@") or self.peek("op", "?"):  # attributes, conditional fields
                        if self.peek("op", "?"):
                            self.next()
                            continue
                        self.next()
                        self._skip_group("(", ")")
                    self.expect("op", ":")
                    entries.append(("kv", key, self.expression()))
                if self.peek("op", ","):
                    self.next()
                elif not self.peek("op", close):
                    raise DataWeaveError(f"expected ',' or '{close}', found {self.tok().text!r}", self.tok().pos)
        finally:
            self.depth -= 1
        self.next()
        return ("obj", t.pos, tuple(entries))

    def _key_value_ahead(self) -> bool:
        """`(expr): value` is a dynamic key; `(expr)` alone spreads an object into this one."""
        depth, j = 0, self.i
        while j < len(self.t) and j - self.i < 2000:
            t = self.t[j]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                depth += 1
            elif t.kind == "op" and t.text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    nxt = self.t[j + 1] if j + 1 < len(self.t) else t
                    return nxt.kind == "op" and nxt.text == ":"
            j += 1
        return False

    def key(self) -> tuple:
        t = self.tok()
        if t.kind == "id":
            self.next()
            name = t.text
            if self.peek("op", "#"):  # ns#name
                self.next()
                if self.peek("str"):
                    return ("name", "".join(p for p in self.next().parts if isinstance(p, str)))
                name = self.name()
            return ("name", name)
        if t.kind == "str":
            self.next()
            if any(not isinstance(p, str) for p in t.parts):
                return ("expr", ("lit", t.pos))
            return ("name", "".join(t.parts))
        if t.kind == "num":
            self.next()
            return ("name", t.text)
        if t.kind == "op" and t.text == "(":
            self.next()
            inner = self.expression()
            self.expect("op", ")")
            return ("expr", inner)
        if t.kind == "dollar":
            self.next()
            return ("expr", ("dollar", t.pos, t.text))
        raise DataWeaveError(f"expected an object key, found {t.text or 'the end'!r}", t.pos)


def _str_value(node: tuple) -> str:
    return "".join(p for p in node[2] if isinstance(p, str)) if node[0] == "str" else ""


# --- values -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """What an expression carries: parts of the event (`Inflow`s); `text` when it is a string."""

    flows: tuple[Inflow, ...] = ()
    text: bool = False

    def union(self, other: Value) -> Value:
        return Value(_dedupe(self.flows + other.flows), self.text or other.text)


NOTHING = Value()


def _dedupe(flows: tuple[Inflow, ...]) -> tuple[Inflow, ...]:
    return tuple(dict.fromkeys(flows)) if len(flows) > 1 else flows


def select(value: Value, name: str, shown: str = "") -> Value:
    """`value.name`: a plain read extends the place's field path; after other operations it is a get."""
    key = name.lower()
    out = []
    for f in value.flows:
        text = f"{f.text}.{name}" if not shown else shown
        if not f.ops:
            out.append(Inflow(Ref(f.ref.node, f.ref.type, f.ref.path + (key,)), (), text))
        else:
            out.append(Inflow(f.ref, f.ops + (("get", key),), text))
    return Value(tuple(out))


def apply(value: Value, op: tuple, text: bool = False) -> Value:
    return Value(tuple(Inflow(f.ref, f.ops + (op,), f.text) for f in value.flows), text)


def collapse(value: Value, op: tuple = CONCAT) -> Value:
    return Value(tuple(f if f.ops[-1:] == (op,) else Inflow(f.ref, f.ops + (op,), f.text) for f in value.flows), True)


class Evaluator:
    """Evaluates a parsed script against the event: `payload`, `vars.x` and `attributes` are what
    the frontend's lookups return at this point of the flow."""

    def __init__(self, payload: Value, var: Callable[[str], Value], all_vars: Callable[[], Value],
                 attributes: Value = NOTHING) -> None:
        self.payload = payload
        self.var = var
        self.all_vars = all_vars
        self.attributes = attributes
        self.depth = 0
        self.inlined = 0
        self.properties: list[str] = []  # p('key') names read (configuration, not data)
        # applied to every field read: lets the caller map a place to what it knows is there
        self.rewrite: Callable[[Value], Value] | None = None

    def run(self, script: Script) -> Value:
        env: dict[str, object] = {}
        for name, (params, body) in script.funs.items():
            env[name] = ("fun", params, body)
        for name, node in script.vars.items():
            env[name] = self.eval(node, env)
        return self.eval(script.body, env)

    def eval(self, node: tuple, env: dict) -> Value:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth -= 1
            raise DataWeaveError(f"expression nested deeper than {MAX_DEPTH} levels", node[1])
        try:
            return self._eval(node, env)
        finally:
            self.depth -= 1

    def _eval(self, node: tuple, env: dict) -> Value:
        kind = node[0]
        if kind == "lit":
            return NOTHING
        if kind == "str":
            out = Value(text=True)
            for p in node[2]:
                if not isinstance(p, str):
                    out = out.union(collapse(self.eval(p, env)))
            return Value(out.flows, True)
        if kind == "id":
            return self.identifier(node[2], env)
        if kind == "dollar":
            bound = env.get(node[2])
            return bound if isinstance(bound, Value) else NOTHING
        if kind == "sel":
            return self.selector(node, env)
        if kind == "obj":
            out = NOTHING
            for entry in node[2]:
                if entry[0] == "spread":
                    out = out.union(self.eval(entry[1], env))
                    continue
                _, key, value_node = entry
                value = self.eval(value_node, env)
                if key[0] == "name":
                    value = apply(value, ("put", key[1].lower()))
                else:
                    self.eval(key[1], env)
                out = out.union(Value(value.flows))
            return Value(out.flows)
        if kind == "arr":
            out = NOTHING
            for item in node[2]:
                out = out.union(self.eval(item, env))
            return Value(out.flows, False)
        if kind == "call":
            return self.call(node, env)
        if kind == "lambda":
            return NOTHING  # a function value: applied where it is called
        if kind == "bin":
            return self.binary(node, env)
        if kind == "un":
            inner = self.eval(node[3], env)
            return NOTHING if node[2] in ("!", "not") else inner
        if kind == "if":
            self.eval(node[2], env)
            return self.eval(node[3], env).union(self.eval(node[4], env))
        if kind == "match":
            subject = self.eval(node[2], env)
            out = NOTHING
            for binding, guard, body in node[3]:
                scope = dict(env)
                if binding:
                    scope[binding] = subject
                scope["$"] = subject
                if guard is not None:
                    self.eval(guard, scope)
                out = out.union(self.eval(body, scope))
            return out
        if kind == "do":
            scope = dict(env)
            for name, value_node in node[2]:
                if value_node[0] == "lambda":
                    scope[name] = ("fun", value_node[2], value_node[3])
                else:
                    scope[name] = self.eval(value_node, scope)
            return self.eval(node[3], scope)
        if kind == "as":
            value = self.eval(node[2], env)
            return collapse(value) if node[3] in ("String", "Binary") else value
        raise DataWeaveError(f"unknown expression {kind}", node[1])

    def identifier(self, name: str, env: dict) -> Value:
        bound = env.get(name)
        if isinstance(bound, Value):
            return bound
        if name == "payload":
            return self.payload
        if name == "vars":
            return self.all_vars()
        if name == "attributes":
            return self.attributes
        return NOTHING  # app, mule, server, flow, error, a module or function name

    def selector(self, node: tuple, env: dict) -> Value:
        _, _, base_node, how, name = node
        # vars.x and message.payload name places, not fields
        if base_node[0] == "id" and base_node[2] not in env:
            root = base_node[2]
            if root == "vars" and how in ("field", "key", "multi"):
                return self.var(name)
            if root == "message" and how == "field" and name in ("payload", "attributes"):
                return self.payload if name == "payload" else self.attributes
        base = self.eval(base_node, env)
        if how in ("field", "key", "multi", "desc", "attr") and name and name != "*":
            found = select(base, name)
            return self.rewrite(found) if self.rewrite is not None else found
        if how == "test":
            return NOTHING
        if how in ("filter", "dyn"):
            self.eval(name, env)
            return base  # the value itself: an element, or a field chosen at run time
        return base  # index, .^raw, .* and ..* (every field)

    def binary(self, node: tuple, env: dict) -> Value:
        _, _, op, a_node, b_node = node
        if op in ("==", "!=", "~=", "<", ">", "<=", ">=", "is", "and", "or"):
            self.eval(a_node, env)
            self.eval(b_node, env)
            return NOTHING
        a, b = self.eval(a_node, env), self.eval(b_node, env)
        if op == "++":
            if a.text or b.text or _is_text(a_node) or _is_text(b_node):
                return Value(collapse(a).flows + collapse(b).flows, True)
            return a.union(b)
        if op == "--":
            return a
        if op == "update":  # the value with some parts replaced: its structure stays
            return Value(a.union(b).flows)
        return a.union(b)

    def call(self, node: tuple, env: dict) -> Value:
        _, pos, callee, arg_nodes = node
        name = callee[2] if callee[0] == "id" else ""
        short = name.rsplit("::", 1)[-1]
        bound = env.get(name) if name else None
        if isinstance(bound, tuple) and bound[0] == "fun":
            return self.inline(bound[1], bound[2], arg_nodes, env, pos)
        if name in ("p", "Mule::p"):
            for a in arg_nodes:
                if a[0] == "str":
                    self.properties.append(_str_value(a))
            return NOTHING
        if short in M.DW_ITERATE and len(arg_nodes) == 2 and arg_nodes[1][0] in ("lambda", "obj", "id", "call",
                                                                               "sel", "str", "arr", "bin", "if",
                                                                               "dollar", "match", "do"):
            return self.iterate(short, arg_nodes, env, pos)
        args = [self.eval(a, env) for a in arg_nodes]
        if short in M.DW_NO_FLOW:
            return NOTHING
        if short in M.DW_SERIALIZE:
            out = NOTHING
            for a in args:
                out = out.union(collapse(a, SERIALIZED))
            return Value(out.flows, True)
        if short in M.DW_IDENTITY:
            out = NOTHING
            for a in args:
                out = out.union(a)
            return out
        # a function nobody described: its arguments go into the result as text, whole
        out = NOTHING
        for a in args:
            out = out.union(collapse(a, SERIALIZED))
        if callee[0] != "id":
            out = out.union(self.eval(callee, env))
        return Value(out.flows, True)

    def iterate(self, name: str, arg_nodes: tuple, env: dict, pos: int) -> Value:
        """`collection map (item, index) -> body`: the body sees each element (as the collection
        itself: elements are not told apart); filters and sorts return the collection."""
        collection = self.eval(arg_nodes[0], env)
        fn = arg_nodes[1]
        scope = dict(env)
        scope["$"] = collection
        scope["$$"] = NOTHING
        if fn[0] == "lambda":
            params = fn[2]
            if name == "reduce" and len(params) == 2:
                scope[params[0]] = collection
                scope[params[1]] = collection
            else:
                for i, p in enumerate(params):
                    scope[p] = collection if i == 0 else NOTHING
            result = self.eval(fn[3], scope)
        elif fn[0] == "id" and isinstance(env.get(fn[2]), tuple):
            params, body = env[fn[2]][1], env[fn[2]][2]
            result = self.inline(params, body, (), scope, pos, bound=(collection,))
        else:
            result = self.eval(fn, scope)
        if name in ("filter", "filterObject", "orderBy", "distinctBy", "groupBy"):
            return collection
        if name == "reduce":
            return collection.union(result)
        return result

    def inline(self, params: tuple[str, ...], body: tuple, arg_nodes: tuple, env: dict, pos: int,
               bound: tuple[Value, ...] = ()) -> Value:
        if self.inlined >= MAX_INLINE:
            out = NOTHING
            for a in arg_nodes:
                out = out.union(collapse(self.eval(a, env), SERIALIZED))
            return Value(out.flows, True)
        values = list(bound) + [self.eval(a, env) for a in arg_nodes]
        scope = {k: v for k, v in env.items() if isinstance(v, tuple)}  # other functions stay visible
        for i, p in enumerate(params):
            scope[p] = values[i] if i < len(values) else NOTHING
        self.inlined += 1
        try:
            return self.eval(body, scope)
        finally:
            self.inlined -= 1


def _is_text(node: tuple) -> bool:
    return node[0] == "str" or node[0] == "as" and node[3] == "String"


# --- fallback -----------------------------------------------------------------------------------------

_MENTION = re.compile(r"(?<![\w.$])(payload|vars\s*\.\s*[A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*|\s*\[\s*\d+\s*\])*)")


def mentions(src: str, payload: Value, var: Callable[[str], Value]) -> Value:
    """What a script that could not be read may carry: every `payload...` and `vars.x...` it names,
    each as a whole value (its fields turned into text)."""
    out = NOTHING
    for m in _MENTION.finditer(src):
        head = re.sub(r"\s+", "", m.group(1))
        value = payload if head == "payload" else var(head.split(".", 1)[1])
        for name in re.findall(r"[A-Za-z_]\w*", m.group(2) or ""):
            value = select(value, name)
        out = out.union(collapse(value, SERIALIZED))
    return Value(out.flows, True)
