"""The grammar (grammar/smaps.lark), compiled once, on first use.

Two things are built from the one grammar file:

* the lark LALR parser, one token per line, which decides what is a smaps or smaps_rollup file;
* for each kind of line, a regular expression with a named group per part of the line, composed
  from the grammar's own part terminals (ADDRESS, PERMS, LABEL, VALUE...). The parser uses them
  to take a line that the grammar accepted apart, and to say which part of a rejected line is
  wrong. ``tests/test_grammar.py`` proves each composition equal, character for character, to the
  grammar's own line terminal, so there is one description of the format, not two.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from .resources import read_text

if TYPE_CHECKING:
    import lark

__all__ = [
    "GRAMMAR_PATH",
    "LinePattern",
    "grammar",
    "line_patterns",
    "parser",
    "terminal_regexps",
    "with_header_rules",
]

GRAMMAR_PATH = "grammar/smaps.lark"

# Part terminals that the line terminals are made of (see grammar/smaps.lark).
_PARTS = (
    "ADDRESS", "PERMS", "OFFSET", "DEVICE", "HEX2", "INODE", "PATHNAME",
    "LABEL", "SEP", "VALUE", "MNEMONIC", "EOL",
)  # fmt: skip


@cache
def grammar() -> str:
    """The text of grammar/smaps.lark, its header terminals (HEADER, ADDRESS, PERMS, OFFSET,
    DEVICE, HEX2, INODE) as the newest profile's header format gives them
    (smapsfmt._spec.header.grammar_rules): the file's own lines for them are replaced, and
    tests/test_grammar.py holds the file to what the profile gives."""
    return with_header_rules(read_text(GRAMMAR_PATH))


def with_header_rules(text: str) -> str:
    """``text`` (a grammar) with the definition line of each header terminal replaced by the
    one the profile's header format gives; ValueError where the grammar lacks one."""
    from .header import grammar_rules

    for name, definition in grammar_rules().items():
        rule = re.compile(rf"^{name}: [^\n]*$", re.M)
        if len(rule.findall(text)) != 1:
            raise ValueError(f"{GRAMMAR_PATH} has no one line defining {name}")
        line = f"{name}: {definition}"
        text = rule.sub(lambda _match: line, text)  # noqa: B023 - used at once, in this turn
    return text


@cache
def parser() -> lark.Lark:
    """The LALR parser with the start symbols ``smaps`` and ``rollup``."""
    import lark

    return lark.Lark(
        grammar(),
        parser="lalr",
        lexer="contextual",
        start=["smaps", "rollup"],
        maybe_placeholders=False,
    )


@cache
def terminal_regexps() -> dict[str, str]:
    """Every terminal of the grammar, line terminals and part terminals, as a Python regex.

    Compiling the grammar costs more than a small command's whole run, so the result is kept in
    a cache file (``$XDG_CACHE_HOME/smapsfmt``, by default ``~/.cache/smapsfmt``), named by a
    hash of the grammar's text and of the lark installation that compiled it: any change to
    either is a new file. A cache that cannot be read or written is compiled around, silently.
    """
    path = _cache_path()
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                kept = json.load(handle)
        except (OSError, ValueError):
            pass
        else:
            if (
                isinstance(kept, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in kept.items())
                and set(_PARTS) <= set(kept)
            ):
                return kept
    found = compile_terminals()
    if path is not None:
        _keep(path, found)
    return found


def _cache_path() -> str | None:
    """Where the compiled terminals of this grammar and this lark are kept; None: no cache
    (``SMAPSFMT_NO_CACHE=1``, or lark not found)."""
    from importlib.util import find_spec

    if os.environ.get("SMAPSFMT_NO_CACHE", "") not in ("", "0"):
        return None
    spec = find_spec("lark")
    if spec is None or spec.origin is None:
        return None
    try:
        lark_stamp = f"{spec.origin}:{os.stat(spec.origin).st_mtime_ns}"
    except OSError:
        return None
    key = hashlib.sha256(f"{lark_stamp}\0{grammar()}".encode()).hexdigest()[:32]
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(home, "smapsfmt", f"terminals-{key}.json")


def _keep(path: str, terminals: dict[str, str]) -> None:
    """Write the cache file whole or not at all (a reader never sees half of it)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(terminals, handle)
        os.replace(temporary, path)
    except OSError:
        pass


def compile_terminals() -> dict[str, str]:
    """The grammar's terminals as Python regexes, compiled by lark (no cache)."""
    from lark.load_grammar import load_grammar

    compiled, _ = load_grammar(grammar(), GRAMMAR_PATH, [], False)  # type: ignore[no-untyped-call]
    terminals, _rules, _ignore = compiled.compile(["smaps", "rollup"], set(_PARTS))
    return {t.name: t.pattern.to_regexp() for t in terminals}


class LinePattern(NamedTuple):
    """One kind of line: its terminal name, and its regex with a named group per part."""

    terminal: str
    plain: str  # the composition without group names: equal to the grammar's terminal
    regex: re.Pattern[str]
    parts: tuple[tuple[str | None, str], ...]  # (group name or None for a literal, regex)


def _compose(terminal: str, spec: tuple[object, ...]) -> LinePattern:
    """Compose a line regex from part terminals and literals, as lark inlines them.

    ``spec`` items: a literal string; ``(group, TERMINAL)``; ``("?", (items...))`` for an
    optional sequence; ``("*", (items...), group)`` for a repeated sequence, captured whole
    under ``group`` when it is not None.
    """
    regexps = terminal_regexps()
    flat: list[tuple[str | None, str]] = []

    def build(items: tuple[object, ...], named: bool, record: bool) -> str:
        out = []
        for item in items:
            if isinstance(item, str):
                piece = re.escape(item)
                out.append(piece)
                if record:
                    flat.append((None, piece))
            elif isinstance(item, tuple) and item[0] == "?":
                inner = build(item[1], named, False)
                out.append(f"(?:{inner})?")
                if record:
                    flat.append(("?", inner))
            elif isinstance(item, tuple) and item[0] == "*":
                inner = build(item[1], named, False)
                group = item[2]
                repeated = f"(?:{inner})*"
                out.append(f"(?P<{group}>{repeated})" if named and group else repeated)
                if record:
                    flat.append(("*", inner))
            else:
                assert isinstance(item, tuple)
                group, term = item
                body = regexps[term]
                out.append(f"(?P<{group}>{body})" if named and group else body)
                if record:
                    flat.append((group, body))
        return "".join(out)

    plain = build(spec, named=False, record=True)
    named = build(spec, named=True, record=False)
    return LinePattern(terminal, plain, re.compile(named), tuple(flat))


@cache
def line_patterns() -> dict[str, LinePattern]:
    """The composed patterns of the four kinds of line, keyed by terminal name.

    Each spec below restates the order of parts of one line terminal of grammar/smaps.lark (the
    header's from the profile's header format, as the grammar's HEADER is);
    tests/test_grammar.py checks that it composes to exactly that terminal.
    """
    from .header import header_spec

    eol = (None, "EOL")
    specs: dict[str, tuple[object, ...]] = {
        "HEADER": header_spec(),  # the profile's header format, part by part
        "KB_FIELD": (("label", "LABEL"), ":", (None, "SEP"), ("value", "VALUE"), " kB", eol),
        "PLAIN_FIELD": (("label", "LABEL"), ":", (None, "SEP"), ("value", "VALUE"), eol),
        "NAME_LINE": ("Name:", (None, "SEP"), ("name", "PATHNAME"), eol),
        "VMFLAGS_LINE": (
            "VmFlags:", ("*", (" ", (None, "MNEMONIC")), "flags"), ("?", (" ",)), eol,
        ),
    }  # fmt: skip
    return {name: _compose(name, spec) for name, spec in specs.items()}
