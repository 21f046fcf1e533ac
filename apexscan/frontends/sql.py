"""SQL text -> the tables and columns a SELECT reads, with a real SQL parser (sqlglot, PostgreSQL).

Services read the Heroku Connect copy of Salesforce (`SELECT email FROM salesforce.contact`)
through database drivers; the frontends keep the SQL as a string expression, and the scan resolves
it and asks this module what it selects. Parts of the text unknown at analysis time (a value bound
at run time) arrive as "\\x00": in a value they are replaced by a placeholder; before FROM (a column
list built at run time) they make the read every column. Input is bounded (MAX_CHARS); text that
is not a readable SELECT gives nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from apexscan.salesforce.service_models import SQL

HOLE = "\x00"
EVERY_COLUMN = "*"


@dataclass(frozen=True, slots=True)
class TableRead:
    schema: str  # lower-case, "" when the table is not schema-qualified
    table: str  # lower-case
    columns: tuple[str, ...]  # lower-case column names; ("*",) = every column


def select_reads(text: str) -> tuple[TableRead, ...]:
    """What a SELECT statement reads, table by table; () when it is not a readable SELECT."""
    if not text or len(text) > SQL.max_chars:
        return ()
    head = text.lower().split(" from ", 1)[0]
    every = HOLE in head  # a select list built at run time
    try:
        tree = sqlglot.parse_one(text.replace(HOLE, "NULL"), read="postgres")
    except (SqlglotError, ValueError, RecursionError):
        return ()
    if tree is None or not isinstance(tree, (exp.Select, exp.Union, exp.With)) and tree.find(exp.Select) is None:
        return ()
    reads: dict[tuple[str, str], list[str]] = {}
    for table in tree.find_all(exp.Table):
        select = table.find_ancestor(exp.Select)
        if select is None or not table.name:
            continue
        key = (table.db.lower(), table.name.lower())
        columns = reads.setdefault(key, [])
        if every:
            columns.append(EVERY_COLUMN)
            continue
        tables_here = [t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]
        alias = table.alias_or_name.lower()
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                columns.append(EVERY_COLUMN)
                continue
            for column in _columns(projection):
                if isinstance(column.this, exp.Star):
                    if not column.table or column.table.lower() == alias:
                        columns.append(EVERY_COLUMN)
                    continue
                owner = column.table.lower()
                if owner == alias or (not owner and len(tables_here) == 1):
                    columns.append(column.name.lower())
                elif not owner:  # unqualified in a join: any of the tables may have it
                    columns.append(column.name.lower())
    return tuple(TableRead(schema, table, tuple(dict.fromkeys(cols)) if EVERY_COLUMN not in cols
                           else (EVERY_COLUMN,))
                 for (schema, table), cols in sorted(reads.items()) if cols)


def _columns(projection: exp.Expression):
    if isinstance(projection, exp.Column):
        yield projection
        return
    yield from projection.find_all(exp.Column)
