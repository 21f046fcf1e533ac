"""gitignore-style globs (`.forceignore`) matched in time linear in the pattern and the path.

A glob is cut at `/` into segments. A segment `**` stands for any number of folders; any other
segment is matched against one name of the path by `_segment_match`, where `*` is any run of
characters, `?` one character, `[abc]`, `[a-z]`, `[!a]` one character of a class, and `\\x` the
character x. Other runs of `*` are one `*`, as in git.

Why no regular expression: Python's `re` backtracks, and `*a*a*a*a*b` against a long name of `a`s
takes exponential time (a `.forceignore` in a pull request could stall the scan for hours).

Cost, for a path of n characters in s segments and a glob of m characters in t segments:
- `_segment_match` is the greedy wildcard match: it remembers only the last `*` seen, and on a
  mismatch restarts just after it, one character further into the name. A later `*` replaces the
  remembered one, so the name position of a restart never moves back: at most len(name) restarts,
  each re-reading at most the characters between the `*` and the mismatch, O(len(name) * len(seg))
  in the worst case and usually linear. That the last `*` is enough is the classic argument: if
  the text after an earlier `*` could match later, so can the text after the last one, since that
  `*` can absorb whatever the earlier match consumed in between.
- `matches` walks the glob segments once, keeping the set of path positions reachable so far
  (at most s + 1), so it does O(s * t) segment matches: O(n * m) character steps in all.
"""
from __future__ import annotations

from dataclasses import dataclass

ANY_FOLDERS = "**"


class _Star:
    """`*`: any run of characters inside one name (a sentinel: an escaped `\\*` is the character)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "STAR"


STAR = _Star()


@dataclass(frozen=True, slots=True)
class _Class:
    """One character out of a bracket class: ranges (lo, hi) inclusive, possibly negated."""

    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def accepts(self, char: str) -> bool:
        return any(lo <= char <= hi for lo, hi in self.ranges) != self.negated


ANY_CHAR = _Class((), True)  # `?`: any one character

Token = str | _Class | _Star  # a literal character, one character of a class, or STAR


def compile_segment(segment: str) -> tuple[Token, ...]:
    """`a*b?[0-9]` -> ('a', STAR, 'b', ANY_CHAR, _Class(...)); runs of `*` become one STAR."""
    tokens: list[Token] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
            i += 1
        elif char == "?":
            tokens.append(ANY_CHAR)
            i += 1
        elif char == "[" and (parsed := _bracket(segment, i)) is not None:
            klass, i = parsed
            tokens.append(klass)
        elif char == "\\" and i + 1 < len(segment):
            tokens.append(segment[i + 1])
            i += 2
        else:
            tokens.append(char)
            i += 1
    return tuple(tokens)


def _bracket(segment: str, start: int) -> tuple[_Class, int] | None:
    """The class opening at segment[start] == "[" and the index after its "]"; None when it is
    not closed (then "[" is a literal character, as in git)."""
    i = start + 1
    negated = i < len(segment) and segment[i] in "!^"
    if negated:
        i += 1
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(segment):
        char = segment[i]
        if char == "]" and not first:
            return _Class(tuple(ranges), negated), i + 1
        if char == "\\" and i + 1 < len(segment):
            i += 1
            char = segment[i]
        if i + 2 < len(segment) and segment[i + 1] == "-" and segment[i + 2] != "]":
            ranges.append((char, segment[i + 2]))
            i += 3
        else:
            ranges.append((char, char))
            i += 1
        first = False
    return None


def _segment_match(tokens: tuple[Token, ...], name: str) -> bool:
    """Whether one glob segment matches one whole name (see the module docstring for the cost)."""
    t = n = 0
    star = -1  # index of the last STAR seen in tokens
    resume = 0  # name position that STAR's match ends at, for the next restart
    while n < len(name):
        token = tokens[t] if t < len(tokens) else None
        if token is STAR:
            star, resume = t, n
            t += 1
        elif token is not None and (token == name[n] if type(token) is str else token.accepts(name[n])):
            t += 1
            n += 1
        elif star >= 0:
            resume += 1  # the last STAR takes one more character, and the rest is matched again
            t, n = star + 1, resume
        else:
            return False
    return all(token is STAR for token in tokens[t:])


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled glob: segments, each ANY_FOLDERS or a token tuple."""

    segments: tuple[str | tuple[Token, ...], ...]

    @classmethod
    def compile(cls, glob: str, anchored: bool) -> Glob:
        """`glob` without leading or trailing `/`; an unanchored glob matches at any depth."""
        parts: list[str | tuple[Token, ...]] = [] if anchored else [ANY_FOLDERS]
        for segment in glob.split("/"):
            if segment == ANY_FOLDERS:
                if not parts or parts[-1] != ANY_FOLDERS:
                    parts.append(ANY_FOLDERS)
            elif segment:
                parts.append(compile_segment(segment))
        return cls(tuple(parts))

    def matches(self, names: list[str] | tuple[str, ...]) -> bool:
        """Whether the glob matches the path made of `names` (its folders, then its own name).
        A trailing `**` needs at least one more name (`a/**` is what is inside a, not a itself)."""
        reachable = {0}  # positions in `names` the segments so far can end at
        last = len(self.segments) - 1
        for index, segment in enumerate(self.segments):
            if not reachable:
                return False
            if segment == ANY_FOLDERS:
                low = min(reachable) + (1 if index == last and index > 0 else 0)
                reachable = set(range(low, len(names) + 1))
            else:
                reachable = {p + 1 for p in reachable if p < len(names) and _segment_match(segment, names[p])}
        return len(names) in reachable
