"""The one kind of dump statement that reaches the server with rows: a contract table's
`INSERT INTO `t` [(columns)] VALUES (...), ...;` made of literals only.

The check is quote-aware (it follows the server's lexer for '...' strings: backslash escapes
and doubled quotes), so `');DROP DATABASE x;` inside a string is data, while the same bytes
outside a string, a sub-select, a function call, a second statement or a second table make
the whole statement, and so the dump, unacceptable. Multi-statements are also off on every
connection: this is the first of two walls, and the one that names the problem.
Pure: no I/O.
"""

from __future__ import annotations

import re

_STRING = rb"'(?:[^'\\]++|\\.|'')*+'"
_NUMBER = rb"[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][-+]?\d++)?"
# Alternatives are tried in order and never revisited (the loops are possessive, for speed), so
# hex literals come before numbers: `0x00ff` must not be read as `0` followed by garbage.
_VALUE = (rb"(?:" + _STRING + rb"|(?i:NULL)|0x[0-9A-Fa-f]++|[xX]'[0-9A-Fa-f]*+'|[bB]'[01]*+'"
          rb"|_[A-Za-z0-9]++ ?" + _STRING + rb"|" + _NUMBER + rb")")
_ROW = rb"\(" + _VALUE + rb"(?:," + _VALUE + rb")*+\)"
_COLUMNS = rb"\(`(?:[^`]|``)++`(?:, ?`(?:[^`]|``)++`)*+\) ?"
# Both layouts: mysqldump's one line `VALUES (..),(..);` and mariadb-dump's `VALUES\n(..),\n(..);`.
_ROWS = rb" ?(?:" + _COLUMNS + rb")?VALUES\s?" + _ROW + rb"(?:,\s?" + _ROW + rb")*+"
_STATEMENT_BODY = re.compile(_ROWS + rb";", re.DOTALL)
_LONGEST_VALID = re.compile(rb"(?:" + _ROWS + rb")?", re.DOTALL)


class InsertRejected(ValueError):
    """The INSERT is not literal rows for its own table; the message shows where it departs."""


def prefix(table: str) -> bytes:
    return b"INSERT INTO `" + table.replace("`", "``").encode() + b"`"


def rewrite(text: bytes, table: str, target: bytes) -> bytes:
    """`text` with its table replaced by `target` (e.g. b"`staging`.`tenants__incoming`"),
    after checking that it is literal rows for `table` and nothing else."""
    head = prefix(table)
    if not text.startswith(head):
        raise InsertRejected(f"an INSERT into `{table}` must start with {head.decode()!r}, "
                             f"not {_show(text[:60])}")
    if _STATEMENT_BODY.fullmatch(text, len(head)) is None:
        valid_to = _LONGEST_VALID.match(text, len(head)).end()
        raise InsertRejected(
            f"an INSERT into `{table}` must be literal rows and end at its ';', but at byte {valid_to} "
            f"of the statement it goes on with {_show(text[valid_to:valid_to + 80])}")
    return target.join((b"INSERT INTO ", text[len(head):]))


def _show(raw: bytes) -> str:
    return repr(raw.decode("utf-8", "replace"))
