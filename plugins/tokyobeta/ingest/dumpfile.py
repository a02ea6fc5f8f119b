"""Streaming reader of mysqldump / mariadb-dump output.

Pure: works on any binary stream (an S3 body, a local file). It hashes and counts the bytes of
the object as they pass (so size and sha256 cost no second read), decompresses gzip on the
fly, splits the text into statements (both tools escape newlines inside strings, so a
statement ends at a line that ends with ';') and classifies each statement by its first line.
Nothing here executes anything: the loader decides what reaches the server.
"""

from __future__ import annotations

import enum
import hashlib
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from tokyobeta.contract import CONTRACT_TABLES

CHUNK_BYTES = 8 * 1024 * 1024


class Kind(enum.Enum):
    COMMENT = "comment"          # '--' lines, blank lines
    FRAMING = "framing"          # SET, LOCK/UNLOCK TABLES, DROP TABLE IF EXISTS, DISABLE/ENABLE KEYS
    CREATE_TABLE = "create_table"
    INSERT = "insert"
    OTHER = "other"


@dataclass(frozen=True)
class Statement:
    kind: Kind
    table: str | None    # the table the statement is about, when the first line names one
    text: bytes          # the whole statement including its trailing ';'
    line_no: int         # first line, 1-based, for error messages


class DumpFormatError(ValueError):
    """The bytes are not a complete dump (e.g. cut off mid-statement)."""


class HashingReader:
    """Wraps a binary stream; counts and sha256-hashes every byte read from it."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def iter_chunks(reader: HashingReader, gzip: bool) -> Iterator[bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
    while True:
        chunk = reader.read(CHUNK_BYTES)
        if not chunk:
            break
        if inflater is None:
            yield chunk
            continue
        data = inflater.decompress(chunk)
        # Concatenated gzip members (e.g. a dump appended in parts) are valid gzip.
        while inflater.eof and inflater.unused_data:
            rest = inflater.unused_data
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data += inflater.decompress(rest)
        if data:
            yield data
    if inflater is not None:
        tail = inflater.flush()
        if tail:
            yield tail
        if not inflater.eof:
            raise DumpFormatError("gzip stream ends before its end marker: the dump is truncated")


def iter_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines without their line terminator."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        lines = data.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if pending:
        yield pending


_IDENT = rb"`((?:[^`]|``)+)`"
INSERT_RE = re.compile(rb"^(?:INSERT|REPLACE)\s+(?:IGNORE\s+)?INTO\s+" + _IDENT, re.IGNORECASE)
_CREATE = re.compile(rb"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _IDENT, re.IGNORECASE)
_DROP_IF_EXISTS = re.compile(rb"^DROP\s+TABLE\s+IF\s+EXISTS\s+" + _IDENT + rb"\s*;$", re.IGNORECASE)
_LOCK = re.compile(rb"^LOCK\s+TABLES\s+" + _IDENT + rb"\s+WRITE\s*;$", re.IGNORECASE)
_UNLOCK = re.compile(rb"^UNLOCK\s+TABLES\s*;$", re.IGNORECASE)
_KEYS = re.compile(rb"^/\*!\d+\s+ALTER\s+TABLE\s+" + _IDENT + rb"\s+(?:DISABLE|ENABLE)\s+KEYS\s*\*/\s*;$", re.IGNORECASE)
_SET = re.compile(rb"^(?:/\*!\d+\s+)?SET\s+[^;]*(?:\*/)?\s*;$", re.IGNORECASE)
_VERSION_COMMENT = re.compile(rb"^/\*![0-9]+.*\*/\s*;$", re.DOTALL)
_ANY_IDENT = re.compile(_IDENT)


def _ident(match: re.Match[bytes]) -> str:
    return match.group(1).replace(b"``", b"`").decode("utf-8", "replace")


def classify(first_line: bytes, text: bytes) -> tuple[Kind, str | None]:
    for pattern, kind in ((INSERT_RE, Kind.INSERT), (_CREATE, Kind.CREATE_TABLE)):
        m = pattern.match(first_line)
        if m:
            return kind, _ident(m)
    single = text if b"\n" not in text else None
    if single is not None:
        for pattern in (_DROP_IF_EXISTS, _LOCK, _KEYS):
            m = pattern.match(single)
            if m:
                return Kind.FRAMING, _ident(m)
        if _UNLOCK.match(single) or _SET.match(single):
            return Kind.FRAMING, None
        if _VERSION_COMMENT.match(single) and not _mentions_contract_table(single):
            return Kind.FRAMING, None
    m = _ANY_IDENT.search(first_line)
    return Kind.OTHER, _ident(m) if m else None


def _mentions_contract_table(text: bytes) -> bool:
    return any(_ident(m) in CONTRACT_TABLES for m in _ANY_IDENT.finditer(text))


def touches_contract_table(stmt: Statement) -> bool:
    """True when an OTHER statement names a contract table anywhere (e.g. an injected
    UPDATE or DROP): the loader rejects such a dump instead of skipping the statement."""
    if stmt.table in CONTRACT_TABLES:
        return True
    return _mentions_contract_table(stmt.text[:4096])


_STANDALONE_COMMENT = re.compile(rb"^/\*.*\*/$")  # e.g. mariadb-dump's '/*M!999999\- enable the sandbox mode */'
_COMPLETED = re.compile(rb"^-- Dump completed", re.IGNORECASE)


class StatementStream:
    """Iterates the statements of a dump. After iteration, `completed` tells whether the
    dump tool's closing '-- Dump completed' line was seen: a dump without it was cut off."""

    def __init__(self, lines: Iterator[bytes]):
        self._lines = lines
        self.completed = False

    def __iter__(self) -> Iterator[Statement]:
        current: list[bytes] = []
        first_no = 0
        for line_no, line in enumerate(self._lines, start=1):
            if not current:
                stripped = line.strip()
                if not stripped or _STANDALONE_COMMENT.match(stripped):
                    continue
                if stripped.startswith(b"--"):
                    self.completed = self.completed or bool(_COMPLETED.match(stripped))
                    continue
                self.completed = False  # anything after the trailer means it was not the end
                first_no = line_no
            current.append(line)
            if line.rstrip().endswith(b";"):
                text = b"\n".join(current)
                kind, table = classify(current[0], text)
                yield Statement(kind, table, text, first_no)
                current = []
        if current:
            raise DumpFormatError(
                f"the dump ends inside a statement that starts at line {first_no}: it is truncated")
