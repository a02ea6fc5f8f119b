"""A contract table's CREATE TABLE from a dump: accepted only in the plain form the dump tools
write, checked against the contract, and rebuilt as the DDL of `staging.<table>__incoming`.

Every line must be a column, an index or the closing table options, each from a short list
of forms: no `CREATE TABLE ... SELECT` or `LIKE`, no generated columns or expression defaults,
no engine other than InnoDB, no DATA/INDEX DIRECTORY, CONNECTION, UNION or partitioning.
Foreign keys and CHECK constraints are dropped (they would tie the incoming table to the live
ones, and a copy needs neither). Drift from the contract (a column missing or retyped) is a
quarantine reason found before a single row is loaded, not a crash in dbt later.
Pure: parses the statement text, executes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokyobeta import contract

_STRING = r"'(?:[^'\\]|\\.|'')*'"
_NAME = r"`(?:[^`]|``)+`"
_NOW = r"(?:current_timestamp|now|localtimestamp)(?:\(\d*\))?"
_LITERAL = rf"(?:{_STRING}|NULL|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|b'[01]*'|0x[0-9a-f]+|{_NOW})"
_ATTRIBUTE = (
    rf"(?:unsigned|signed|zerofill|binary|NOT\s+NULL|NULL|AUTO_INCREMENT|INVISIBLE|/\*!\d+\s+INVISIBLE\s*\*/"
    rf"|CHARACTER\s+SET\s+\w+|CHARSET\s+\w+|COLLATE\s+\w+|DEFAULT\s+{_LITERAL}|ON\s+UPDATE\s+{_NOW}"
    rf"|COMMENT\s+{_STRING}|SRID\s+\d+|COLUMN_FORMAT\s+\w+|STORAGE\s+\w+"
    rf"|CHECK\s*\(json_valid\((?P<json>{_NAME})\)\))")
_TYPE_ARGS = rf"\((?:\s*(?:\d+|{_STRING})\s*(?:,\s*(?:\d+|{_STRING})\s*)*)\)"
_COLUMN = re.compile(
    rf"\s*(?P<name>{_NAME})\s+(?P<type>[a-z]+)(?:{_TYPE_ARGS})?(?P<attributes>(?:\s+{_ATTRIBUTE})*)\s*,?",
    re.IGNORECASE)
_KEY_PART = rf"{_NAME}(?:\(\d+\))?(?:\s+(?:ASC|DESC))?"
_INDEX = re.compile(
    rf"\s*(?:PRIMARY\s+KEY|(?:(?:UNIQUE|FULLTEXT|SPATIAL)\s+)?(?:KEY|INDEX)\s+{_NAME})"
    rf"\s*\({_KEY_PART}(?:\s*,\s*{_KEY_PART})*\)"
    rf"(?:\s+(?:USING\s+(?:BTREE|HASH)|COMMENT\s+{_STRING}|KEY_BLOCK_SIZE\s*=\s*\d+|WITH\s+PARSER\s+\w+"
    rf"|INVISIBLE|/\*!\d+\s+INVISIBLE\s*\*/))*\s*,?",
    re.IGNORECASE)
_PRIMARY_FIRST = re.compile(rf"\s*PRIMARY\s+KEY\s*\((?P<name>{_NAME})", re.IGNORECASE)
# FULLTEXT and SPATIAL stay in the CREATE: InnoDB adds only one FULLTEXT index per ALTER.
_DEFERRABLE = re.compile(r"\s*(?:UNIQUE\s+)?(?:KEY|INDEX)\s", re.IGNORECASE)
_AUTO_INCREMENT = re.compile(r"\bAUTO_INCREMENT\b", re.IGNORECASE)
_CONSTRAINT = re.compile(rf"\s*(?:CONSTRAINT(?:\s+{_NAME})?\s+)?(?:FOREIGN\s+KEY|CHECK)\b", re.IGNORECASE)
_OPTION = (
    rf"(?:ENGINE\s*=\s*(?P<engine>\w+)|AUTO_INCREMENT\s*=\s*\d+|(?:DEFAULT\s+)?(?:CHARSET|CHARACTER\s+SET)\s*=\s*\w+"
    rf"|(?:DEFAULT\s+)?COLLATE\s*=\s*\w+|ROW_FORMAT\s*=\s*\w+|COMMENT\s*=\s*{_STRING}"
    rf"|(?:STATS_PERSISTENT|STATS_AUTO_RECALC|STATS_SAMPLE_PAGES|PACK_KEYS|CHECKSUM|DELAY_KEY_WRITE|PAGE_CHECKSUM"
    rf"|TRANSACTIONAL|KEY_BLOCK_SIZE|AVG_ROW_LENGTH|MAX_ROWS|MIN_ROWS|PAGE_COMPRESSED|PAGE_COMPRESSION_LEVEL)"
    rf"\s*=\s*\w+)")
_OPTIONS = re.compile(rf"\)(?P<options>(?:\s*{_OPTION})*)\s*;", re.IGNORECASE)
_OPTION_ITEM = re.compile(_OPTION, re.IGNORECASE)
_FIRST_LINE = re.compile(rf"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{_NAME})\s*\(\s*", re.IGNORECASE)
ENGINES = ("InnoDB",)

_FAMILIES = {
    contract.INTEGER: {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "bool", "boolean"},
    contract.TEXT: {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"},
    contract.DATE: {"date"},
    contract.DATETIME: {"datetime", "timestamp"},
    contract.DECIMAL: {"decimal", "numeric", "float", "double"},
}


class CreateTableRejected(ValueError):
    """The CREATE TABLE is not in a form the loader runs; the message names the line."""


@dataclass(frozen=True)
class TableDefinition:
    table: str
    columns: dict[str, str]          # column -> base SQL type, lower case
    definitions: tuple[str, ...]     # accepted column and index lines, without trailing commas
    options: str                     # the closing line's table options
    dropped: tuple[str, ...]         # foreign keys and CHECK constraints left out
    deferred: tuple[str, ...] = ()   # secondary indexes built after the rows are in

    def incoming_ddl(self, target: str) -> str:
        """The table without its deferrable secondary indexes: rows go in faster, and one
        sorted index build afterwards (index_ddl) is cheaper than maintaining them row by row."""
        body = ",\n".join(f"  {line}" for line in self.definitions if line not in self.deferred)
        return f"CREATE TABLE {target} (\n{body}\n){self.options}"

    def index_ddl(self, target: str) -> str | None:
        if not self.deferred:
            return None
        return f"ALTER TABLE {target} " + ", ".join(f"ADD {line}" for line in self.deferred)


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`")


def parse(text: str) -> TableDefinition:
    """Accept a CREATE TABLE statement line by line, or raise CreateTableRejected."""
    lines = text.split("\n")
    first = _FIRST_LINE.fullmatch(lines[0])
    if first is None:
        raise CreateTableRejected(f"the first line must be 'CREATE TABLE `name` (' alone, not {lines[0][:120]!r}")
    table = _unquote(first["name"])
    closing = _OPTIONS.fullmatch(lines[-1].strip()) if len(lines) > 1 else None
    if closing is None:
        raise CreateTableRejected(
            f"CREATE TABLE `{table}` must end with ') <table options>;' on its last line; {lines[-1][:160]!r} "
            "is not (CREATE ... SELECT, partitioning, DATA/INDEX DIRECTORY, CONNECTION and UNION are refused)")
    for option in _OPTION_ITEM.finditer(closing["options"]):
        engine = option["engine"]
        if engine and engine.lower() not in {e.lower() for e in ENGINES}:
            raise CreateTableRejected(f"CREATE TABLE `{table}` uses ENGINE={engine}; staging tables are "
                                      f"{'/'.join(ENGINES)} only")
    columns: dict[str, str] = {}
    definitions: list[str] = []
    dropped: list[str] = []
    secondary: list[str] = []
    auto_increment: str | None = None
    primary_first: str | None = None
    for number, line in enumerate(lines[1:-1], start=2):
        stripped = line.strip()
        if not stripped:
            continue
        column = _COLUMN.fullmatch(line)
        if column:
            name = _unquote(column["name"])
            checked = column["json"]
            if checked is not None and _unquote(checked) != name:
                raise CreateTableRejected(f"CREATE TABLE `{table}` line {number}: a CHECK on another column: "
                                          f"{stripped[:160]!r}")
            columns[name] = column["type"].lower()
            if _AUTO_INCREMENT.search(column["attributes"]):
                auto_increment = name
        elif _INDEX.fullmatch(line):
            primary = _PRIMARY_FIRST.match(line)
            if primary:
                primary_first = _unquote(primary["name"])
            elif _DEFERRABLE.match(line):
                secondary.append(line.strip().rstrip(","))
        elif _CONSTRAINT.match(line):
            dropped.append(stripped.rstrip(","))
            continue
        else:
            raise CreateTableRejected(
                f"CREATE TABLE `{table}` line {number} is not a plain column or index definition "
                f"(generated columns, expression defaults and functional indexes are refused): {stripped[:160]!r}")
        definitions.append(stripped.rstrip(","))
    if not columns:
        raise CreateTableRejected(f"CREATE TABLE `{table}` defines no columns")
    # An AUTO_INCREMENT column must lead some key from the start: defer only when the primary
    # key is that key (or there is no such column).
    deferred = tuple(secondary) if auto_increment in (None, primary_first) else ()
    return TableDefinition(table, columns, tuple(definitions), closing["options"], tuple(dropped), deferred)


def drift(table: str, actual: dict[str, str]) -> list[str]:
    """Every way the columns depart from the contract; empty when they conform."""
    expected = contract.CONTRACT_TABLES[table]
    problems = []
    for name, family in expected.items():
        if name not in actual:
            problems.append(f"{table}.{name} is missing")
        elif actual[name] not in _FAMILIES[family]:
            problems.append(f"{table}.{name} is {actual[name]}, the contract expects a {family} type")
    return problems
