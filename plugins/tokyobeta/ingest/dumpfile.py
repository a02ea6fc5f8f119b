"""Streaming reader of mysqldump / mariadb-dump output.

Pure: works on any binary stream (an S3 body, a local file, a pipe). `DumpReader` reads the
object once, in a background thread, hashing and counting the raw bytes (so size and sha256
cost no second read; hashlib and zlib release the GIL, so this overlaps with the scanner) and
decompressing gzip on the fly, in bounded chunks. `scan` cuts the text into statements
without looking at it line by line: both dump tools escape newlines inside strings, so a raw
newline never falls inside a value, a statement starts at a line start and ends at the first
line that ends with the delimiter (`;`, or what a DELIMITER line set). Statements the loader
never runs (other tables' rows and CREATE TABLEs) are skipped by a `bytes.find` for their
end, unread and uncopied; every other statement is returned whole and classified.
Nothing here executes anything: the loader decides what reaches the server.
"""

from __future__ import annotations

import enum
import hashlib
import queue
import re
import threading
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Collection, Iterator

CHUNK_BYTES = 2 * 1024 * 1024  # small chunks keep peak memory low and flat (allocator reuse)
# A statement the loader has to look at (a contract table's INSERT or anything that is not
# another table's rows) larger than this is refused: memory stays bounded whatever the input.
MAX_STATEMENT_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 512  # enough to classify a statement: verb and a quoted table name


class Kind(enum.Enum):
    CREATE_TABLE = "create_table"   # CREATE TABLE `t` (...)
    INSERT = "insert"               # INSERT/REPLACE ... INTO `t`
    DROP_TABLE = "drop_table"       # DROP TABLE IF EXISTS `t` (the framing before a CREATE)
    TABLE_FRAMING = "table_framing"  # LOCK TABLES `t` WRITE, ALTER TABLE `t` DISABLE/ENABLE KEYS
    SESSION = "session"             # SET, UNLOCK TABLES, USE, COMMIT, DELIMITER, CREATE/ALTER DATABASE
    DEFINITION = "definition"       # views, triggers, routines, events: definitions, never data
    OTHER = "other"                 # anything no dump tool writes: UPDATE, DELETE, DROP DATABASE, ...


@dataclass(frozen=True)
class Statement:
    kind: Kind
    table: str | None    # the table a CREATE/INSERT/DROP/framing statement is about
    text: bytes | None   # the whole statement with its delimiter; None when skipped unread
    offset: int          # byte offset of its first byte in the (uncompressed) dump text
    count: int = 1       # statements it stands for: a run of skipped INSERTs into one table is one


class DumpFormatError(ValueError):
    """The bytes are not a complete dump (cut off mid-statement, broken gzip)."""


class CorruptDump(DumpFormatError):
    """The bytes cannot be decoded (broken gzip data)."""


class StatementTooLarge(ValueError):
    """A statement the loader must check is larger than MAX_STATEMENT_BYTES."""


# --- reading ---------------------------------------------------------------------------------

class DumpReader:
    """Iterates the dump's text in chunks of at most `chunk_bytes`, reading ahead in a thread.

    `bytes_read` and `hexdigest()` describe the raw object (compressed bytes for gzip), the
    thing the manifest's dump_bytes and dump_sha256 describe. Memory: at most `depth` chunks
    wait in the queue. `drain()` reads the rest of the object without decompressing it, so a
    rejected dump still gets its true size and sha256 for the verdict.
    """

    def __init__(self, raw: BinaryIO, gzip: bool = False, chunk_bytes: int = CHUNK_BYTES, depth: int = 4):
        self._raw = raw
        self._gzip = gzip
        self._chunk_bytes = chunk_bytes
        self._sha256 = hashlib.sha256()
        self.bytes_read = 0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._eof = False
        self._thread: threading.Thread | None = None

    def hexdigest(self) -> str:
        return self._sha256.hexdigest()

    def _read_raw(self) -> bytes:
        chunk = self._raw.read(self._chunk_bytes)
        if chunk:
            self._sha256.update(chunk)
            self.bytes_read += len(chunk)
        else:
            self._eof = True
        return chunk

    def _texts(self) -> Iterator[bytes]:
        if not self._gzip:
            while chunk := self._read_raw():
                yield chunk
            return
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inside_member = False
        try:
            while raw := self._read_raw():
                data = raw
                while data:
                    inside_member = True
                    # max_length bounds every output chunk: a gzip bomb cannot blow up memory.
                    out = inflater.decompress(data, self._chunk_bytes)
                    if out:
                        yield out
                    if inflater.eof:
                        # Concatenated gzip members are valid gzip (e.g. a dump appended in parts).
                        inside_member = False
                        data = inflater.unused_data
                        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    else:
                        data = inflater.unconsumed_tail
            if inside_member:
                tail = inflater.flush()
                if tail:
                    yield tail
                if not inflater.eof:
                    raise DumpFormatError("the gzip stream ends before its end marker: the dump is truncated")
        except zlib.error as exc:
            raise CorruptDump(f"the gzip data is corrupt ({exc})") from None

    def _pump(self) -> None:
        try:
            for chunk in self._texts():
                while not self._stop.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._queue.put(exc)

    def __iter__(self) -> Iterator[bytes]:
        self._thread = threading.Thread(target=self._pump, name="dump-reader", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # unblock a reader waiting on a full queue
                    self._queue.get_nowait()
                except queue.Empty:
                    self._thread.join(0.05)
            self._thread = None

    def drain(self) -> None:
        """Read (hash and count) what is left of the object, without decompressing it."""
        self.close()
        while not self._eof and self._read_raw():
            pass


# --- statements ------------------------------------------------------------------------------

_IDENT = rb"`((?:[^`]|``)+)`"
# A table the dump tools name is never schema-qualified: `db`.`t` is no dump's statement.
_TABLE = _IDENT + rb"(?!\s*\.)"
_SKIPPABLE_HEAD = re.compile(
    rb"(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*INTO\s+" + _TABLE
    + rb"|CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _TABLE, re.IGNORECASE)
_DELIMITER_LINE = re.compile(rb"DELIMITER\s+(\S+)\s*$", re.IGNORECASE)
_SANDBOX = re.compile(rb"/\*M!999999\\- enable the sandbox mode \*/\s*$")  # mariadb-dump's first line
_COMMENT_LINE = re.compile(rb"--(?:[ \t\r]|$)")  # the client's '-- ' comment (a space must follow)
_DUMP_COMPLETED = b"-- Dump completed"


def _ident(raw: bytes) -> str:
    return raw.replace(b"``", b"`").decode("utf-8", "replace")


class Scanner:
    """Statements of a dump text. `tables` are the tables whose statements are returned whole;
    other tables' INSERTs and CREATE TABLEs come back with text=None, skipped unread.

    After iteration `completed` says whether the dump ended with the dump tool's closing
    '-- Dump completed' line; a dump without it was cut off between two statements.
    """

    def __init__(self, chunks: Iterator[bytes] | Collection[bytes], tables: Collection[str]):
        self._chunks = iter(chunks)
        self._tables = frozenset(tables)
        self.completed = False
        self.delimiter = b";"

    def __iter__(self) -> Iterator[Statement]:
        buf = b""
        base = 0          # stream offset of buf[0]
        pos = 0
        eof = False
        while True:
            # --- at a line start between statements: a whole short line, or a head's worth ---
            nl = buf.find(b"\n", pos, pos + _HEAD_BYTES)
            if nl < 0 and not eof and len(buf) - pos < _HEAD_BYTES:
                chunk = next(self._chunks, None)
                if chunk is None:
                    eof = True
                else:
                    base += pos
                    buf = buf[pos:] + chunk
                    pos = 0
                continue
            if pos >= len(buf):
                return
            head = buf[pos:nl] if nl >= 0 else buf[pos:pos + _HEAD_BYTES]
            first = head.lstrip()
            if not first.rstrip():  # blank (or whitespace up to the window's end)
                pos += len(head) + (nl >= 0)
                continue
            if _COMMENT_LINE.match(first) or _SANDBOX.match(first):
                line_end = nl if nl >= 0 else buf.find(b"\n", pos)
                if line_end < 0 and not eof:  # a long comment line: read on to its end
                    if len(buf) - pos > MAX_STATEMENT_BYTES:
                        raise StatementTooLarge(f"the comment line at byte {base + pos} is longer than "
                                                f"{MAX_STATEMENT_BYTES // 2**20} MB")
                    chunk = next(self._chunks, None)
                    if chunk is None:
                        eof = True
                    else:
                        buf += chunk
                    continue
                self.completed = first.startswith(_DUMP_COMPLETED)
                pos = line_end + 1 if line_end >= 0 else len(buf)
                continue
            self.completed = False
            pos += len(head) - len(first)
            start = base + pos
            delimiter_line = _DELIMITER_LINE.match(first) if (nl >= 0 or eof) else None
            if delimiter_line:
                # A client command, always one line: it sets what ends the statements after it.
                self.delimiter = delimiter_line.group(1)
                pos = nl + 1 if nl >= 0 else len(buf)
                yield Statement(Kind.SESSION, None, first.rstrip(), start)
                continue
            skippable = _SKIPPABLE_HEAD.match(buf, pos, pos + _HEAD_BYTES)
            table = _ident(skippable.group(1) or skippable.group(2)) if skippable else None
            keep = skippable is None or table in self._tables
            # --- find the end: the first line that ends with the delimiter ---
            end_marker = self.delimiter + b"\n"
            parts: list[bytes] = []
            kept = 0
            search = pos
            while True:
                end = _find_end(buf, search, self.delimiter)
                if end >= 0:
                    stop = end + len(self.delimiter)
                    if keep:
                        parts.append(buf[pos:stop])
                    pos = stop + 1
                    break
                if eof:
                    rest = buf[pos:].rstrip(b"\r\n\t ")
                    if rest.endswith(self.delimiter):  # the last statement, without a final newline
                        if keep:
                            parts.append(rest)
                        pos = len(buf)
                        break
                    raise DumpFormatError(
                        f"the dump ends inside the statement that starts at byte {start} "
                        f"({_preview(buf[pos:pos + 80])}): it is truncated")
                # Not in this chunk: keep only what could begin the end marker, and the
                # statement so far if it is kept.
                cut = max(pos, len(buf) - len(end_marker) + 1)
                if keep:
                    parts.append(buf[pos:cut])
                    kept += cut - pos
                    if kept > MAX_STATEMENT_BYTES:
                        raise StatementTooLarge(
                            f"the statement that starts at byte {start} ({_preview(parts[0][:80])}) "
                            f"is larger than {MAX_STATEMENT_BYTES // 2**20} MB")
                chunk = next(self._chunks, None)
                base += cut
                buf = buf[cut:] + (chunk or b"")
                pos = search = 0
                if chunk is None:
                    eof = True
            if not keep:
                count = 1
                if (skippable.group(1) and self.delimiter == b";" and buf[pos - 2:pos] == b";\n"
                        and base + pos - start < _RUN_STATEMENT_BYTES):
                    buf, base, pos, eof, count = self._skip_run(buf, base, pos, eof, skippable.group(0))
                yield Statement(Kind.INSERT if skippable.group(1) else Kind.CREATE_TABLE, table, None, start, count)
                continue
            text = parts[0] if len(parts) == 1 else b"".join(parts)
            if len(text) > MAX_STATEMENT_BYTES:
                raise StatementTooLarge(f"the statement that starts at byte {start} ({_preview(text[:80])}) "
                                        f"is larger than {MAX_STATEMENT_BYTES // 2**20} MB")
            kind, named = classify(text)
            yield Statement(kind, named, text, start)

    def _skip_run(self, buf: bytes, base: int, pos: int, eof: bool,
                  head: bytes) -> tuple[bytes, int, int, bool, int]:
        """Skips, in bulk searches, the statements after a skipped INSERT that start with the same
        `head` (b"INSERT INTO `event_log`"): a dump of one row per statement (mysqldump
        --skip-extended-insert) then costs per byte, not per statement.

        Each statement ends at its first `;\n`, so the run ends at the first `;\n` (from the one
        that ended the INSERT at `pos`) that is not followed by the head itself, then neither a
        backtick (`t``x` is another table) nor a `.` (`t`.`x` is not this table). Whatever
        follows the run, a comment or another table, goes the statement-by-statement way. A
        `;\n` closer than a head's window to the buffer's end is looked at again with more
        text. Between chunks the current statement is kept from its start, or only its last
        window once it is long (memory stays flat), and the run comes out the same whatever the
        chunking. Returns the new buf, base, pos and eof, and the number of statements skipped,
        the first INSERT included.
        """
        run_end = _RUN_ENDS.get(head)
        if run_end is None:
            if len(_RUN_ENDS) >= 64:  # one per table; a dump of many tables must not grow it without end
                _RUN_ENDS.clear()
            run_end = _RUN_ENDS[head] = re.compile(rb";\n(?!" + re.escape(head) + rb"(?!`|\s*\.))")
        # Counted by `;\n` + head (a long needle is searched several times faster than `;\n`):
        # before the run's end every `;\n` is followed by the head.
        marker = b";\n" + head
        count = 0
        cur = at = pos - 2  # `;\n`s from cur on are not counted yet; at: where the search goes on
        cur_start: int | None = None  # (stream offset) of a statement whose start is no longer in buf
        preview = b""
        while True:
            decided = len(buf) if eof else len(buf) - _HEAD_BYTES - 2
            end = run_end.search(buf, at)
            if end is not None and end.start() < decided:
                stop = end.start() + 2
                return buf, base, stop, eof, count + 1 + buf.count(marker, cur, end.start() - 1 + len(marker))
            last = buf.rfind(marker, cur, max(cur, decided - 1 + len(marker)))  # the last one known to be
            if last >= 0:
                count += buf.count(marker, cur, last + len(marker))
                cur, cur_start = last + 2, None
            if eof:  # a last statement without its `;\n`, judged as the statement-by-statement path would
                if cur_start is None:
                    cur_start, preview = base + cur, buf[cur:cur + 80]
                if buf[cur:].rstrip(b"\r\n\t ").endswith(b";"):
                    return buf, base, len(buf), eof, count + 1
                raise DumpFormatError(f"the dump ends inside the statement that starts at byte {cur_start} "
                                      f"({_preview(preview)}): it is truncated")
            keep_from = cur
            if len(buf) - cur > 2 * CHUNK_BYTES:  # a long statement: only the window that may hold its end
                if cur_start is None:
                    cur_start, preview = base + cur, buf[cur:cur + 80]
                keep_from = cur = max(cur, decided)
            at = max(at, decided, keep_from) - keep_from
            chunk = next(self._chunks, None)
            if chunk is None:
                eof = True
            base += keep_from
            buf = buf[keep_from:] + (chunk or b"")
            cur -= keep_from


_RUN_ENDS: dict[bytes, re.Pattern] = {}
# Skipped INSERTs shorter than this start a run (see Scanner._skip_run); longer ones (mariadb-dump
# writes ~1 MB statements) are cheaper one by one: finding each one's end walks from newline to newline.
_RUN_STATEMENT_BYTES = 64 * 1024
_STATEMENT_END = re.compile(rb";\n")  # re finds it ~3x faster than bytes.find in rows of text
_SEMICOLON = ord(";")
_LONG_LINES_AFTER = 64       # lines looked at one by one before judging their length
_LONG_LINE_BYTES = 512       # ... and the average length that keeps the walk worthwhile


def _find_end(buf: bytes, start: int, delimiter: bytes) -> int:
    """Index of the first `delimiter` that ends a line at or after `start`, or -1.

    For `;` the walk goes from newline to newline (memchr) and looks at the byte before each:
    on dump lines of rows (hundreds of bytes to megabytes) that is several times faster than
    a two-byte search. When the lines turn out short, the two-byte search is cheaper.
    """
    if delimiter != b";":
        return buf.find(delimiter + b"\n", start)
    find = buf.find
    at = start
    for _ in range(_LONG_LINES_AFTER):
        newline = find(b"\n", at)
        if newline < 0:
            return -1
        if newline > start and buf[newline - 1] == _SEMICOLON:
            return newline - 1
        at = newline + 1
    if at - start < _LONG_LINES_AFTER * _LONG_LINE_BYTES:
        end = _STATEMENT_END.search(buf, at - 1)
        return end.start() if end is not None else -1
    while True:
        newline = find(b"\n", at)
        if newline < 0:
            return -1
        if buf[newline - 1] == _SEMICOLON:
            return newline - 1
        at = newline + 1


def _preview(raw: bytes) -> str:
    return repr(raw.decode("utf-8", "replace"))


# --- classification --------------------------------------------------------------------------

_CREATE_TABLE = re.compile(rb"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _TABLE, re.IGNORECASE)
_INSERT = re.compile(rb"(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*INTO\s+" + _TABLE,
                     re.IGNORECASE)
_DROP_TABLE = re.compile(rb"DROP\s+TABLE\s+IF\s+EXISTS\s+" + _IDENT + rb"\s*;$", re.IGNORECASE)
_LOCK = re.compile(rb"LOCK\s+TABLES\s+" + _IDENT + rb"\s+WRITE\s*;$", re.IGNORECASE)
_KEYS = re.compile(rb"/\*!\d+\s+ALTER\s+TABLE\s+" + _IDENT + rb"\s+(?:DISABLE|ENABLE)\s+KEYS\s*\*/\s*;$",
                   re.IGNORECASE)
# Version comments (/*!50003 ... */, MariaDB's /*M!100101 ... */) run on a server that is new
# enough: for classification their content counts, the markers do not. Plain comments go.
_COMMENT_MARK = re.compile(rb"/\*M?!\d*|\*/|/\*(?!M?!).*?\*/", re.DOTALL)
_SESSION_VERB = re.compile(
    rb"\s*(?:SET\s|UNLOCK\s+TABLES\b|USE\s|COMMIT\b|START\s+TRANSACTION\b|SELECT\s"
    rb"|CREATE\s+DATABASE\b|ALTER\s+DATABASE\b)", re.IGNORECASE)
_DEFINITION_VERB = re.compile(
    rb"\s*(?:CREATE\s+(?:OR\s+REPLACE\s+|ALGORITHM\s*=|DEFINER\s*=|SQL\s+SECURITY\s|VIEW\s|TRIGGER\s|EVENT\s"
    rb"|PROCEDURE\s|FUNCTION\s|AGGREGATE\s)"
    rb"|DROP\s+(?:VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT)\s)", re.IGNORECASE)
_LEADING_TABLE_DDL = re.compile(rb"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _TABLE, re.IGNORECASE)


def classify(text: bytes) -> tuple[Kind, str | None]:
    """What a whole statement is, from its text alone."""
    for pattern, kind in ((_CREATE_TABLE, Kind.CREATE_TABLE), (_INSERT, Kind.INSERT)):
        m = pattern.match(text)
        if m:
            return kind, _ident(m.group(1))
    m = _DROP_TABLE.match(text)
    if m:
        return Kind.DROP_TABLE, _ident(m.group(1))
    m = _LOCK.match(text) or _KEYS.match(text)
    if m:
        return Kind.TABLE_FRAMING, _ident(m.group(1))
    bare = _COMMENT_MARK.sub(b" ", text[:_HEAD_BYTES * 8])
    m = _LEADING_TABLE_DDL.match(bare)
    if m:  # e.g. the stand-in table of a view, written inside a version comment
        return Kind.CREATE_TABLE, _ident(m.group(1))
    if _SESSION_VERB.match(bare):
        return Kind.SESSION, None
    if _DEFINITION_VERB.match(bare):
        return Kind.DEFINITION, None
    if not bare.strip(b" \t\r\n;"):
        return Kind.SESSION, None  # a comment-only statement such as '/*!40101 */;'
    return Kind.OTHER, None


_SET_NAMES = re.compile(rb"(?:/\*!\d+\s+)?SET\s+NAMES\s+'?(\w+)'?", re.IGNORECASE)
_SET_TIME_ZONE = re.compile(rb"(?:/\*!\d+\s+)?SET\s+TIME_ZONE\s*=\s*'([+-]\d{1,2}:\d{2})'\s*(?:\*/)?\s*;$",
                            re.IGNORECASE)


def session_setting(text: bytes) -> tuple[str, str] | None:
    """('names', charset) or ('time_zone', offset) when a SESSION statement sets one of the
    two session values that decide how the server reads the rows that follow."""
    m = _SET_NAMES.match(text)
    if m:
        return "names", m.group(1).decode().lower()
    m = _SET_TIME_ZONE.match(text)
    if m:
        return "time_zone", m.group(1).decode()
    return None
