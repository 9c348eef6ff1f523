"""A large CSV source parsed in a child process, beside the load that writes its rows.

A load spends about as much time parsing and checking its lines in Python as writing them; on one core the two
add up. Here the parse runs in a forked child: the load's process feeds it the source's bytes through a pipe
(a thread that only copies, so any storage works), the child runs ``csv_records`` on them, exactly as the load
would have, and sends the records back in pickled lists. The load receives the same ``(line, payload)`` pairs
in the same order and does everything else as before: rows, rejections and checkpoint in one transaction.
A source that is a local file is read by the child itself, from the descriptor it inherits: no thread in the
load's process then takes the interpreter's lock from the writes (0.3-0.5 s of its CPU in a million rows).

Nothing durable happens in the child, so a crash anywhere costs what it cost before. The child keeps only its
pipes and the file it reads (an inherited descriptor could hold the SQLite writers' lock, ``infra/db/engine.py``),
ignores Ctrl+C (the load decides), and ends as soon as its reader is gone: a load killed with SIGKILL closes the
pipe, the child's next write fails and it exits. A child that dies makes the load fail, to be retried as any failure.
"""

from __future__ import annotations

import fcntl
import marshal
import os
import pickle  # nosec B403: only our own child process is unpickled, through a pipe only we hold
import signal
import struct
import threading
from collections.abc import Callable, Iterator
from itertools import islice
from typing import IO, Any

# The records of one message; big enough that pickling is cheap per record, small enough to keep memory flat.
RECORDS_PER_MESSAGE = 1000
CHUNK_BYTES = 1 << 16
PIPE_BYTES = 1 << 20
_HEADER = struct.Struct("<BIQ")  # kind, the size of the payload (pickled or marshalled), the source's bytes read so far
_RECORDS, _DONE, _FAILED, _RUNS = 1, 2, 3, 4

Records = Callable[[IO[bytes]], Iterator[tuple[int, Any]]]
# What the child does to each chunk of records before it sends it.
Prepare = Callable[[list[tuple[int, Any]]], list[tuple[int, Any]]]


class ParseProcessFailed(RuntimeError):
    """The child that parsed the source died or stopped on an error; the load fails and is retried."""


def can_parse_in_child() -> bool:
    return hasattr(os, "fork")


def records_in_child(
    stream: IO[bytes],
    records: Records,
    prepare: Prepare | None = None,
    *,
    file_descriptor: int | None = None,
    bytes_read: Callable[[], int] | None = None,
    told_read: Callable[[int], None] | None = None,
    weight: Callable[[tuple[int, Any]], int] | None = None,
    runs: type[list[Any]] | None = None,
) -> Iterator[tuple[int, Any]]:
    """``records(stream)``, computed in a child process. Close the iterator (or let it end) to stop the child.

    With ``file_descriptor``, that of the local file ``stream`` reads, the child reads ``stream`` itself (nothing
    else may read it meanwhile); else this process copies its bytes into a pipe. With ``bytes_read``, the child
    says after each chunk how far its copy of the source got, and ``told_read`` hears it here. With ``weight``,
    a chunk ends once the weights of its records (the rows each stands for) reach ``RECORDS_PER_MESSAGE``.

    With ``prepare``, the child sends ``prepare(chunk)`` for every chunk of up to ``RECORDS_PER_MESSAGE`` records
    instead, and the load receives its items as they are: the work ``prepare`` does (a row put in the database's
    form, a row refused, consecutive rows sent as one item) runs beside the writes. The load's ``prepare`` sends
    rows as plain tuples: unpickling a named tuple calls its ``__new__``, written in Python, once a row (a seventh
    of the load's time). With ``runs``, the type of the records that hold many rows (a list of tuples of numbers
    and text), those go through ``marshal``, which writes and reads them in about half the time pickle takes.
    """
    results_in, results_out = os.pipe()
    _widen(results_out)
    if file_descriptor is None:
        data_in, data_out = os.pipe()
        source: IO[bytes] | None = None
    else:
        data_in, data_out, source = file_descriptor, -1, stream
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected; its output is what the tests check
        _child(data_in, results_out, records, prepare, source, bytes_read, weight, runs)
    os.close(results_out)
    feeder = None
    if source is None:
        os.close(data_in)
        feeder = threading.Thread(target=_feed, args=(stream, data_out), name="csv-feeder", daemon=True)
        feeder.start()
    finished = False
    try:
        with os.fdopen(results_in, "rb") as results:
            while True:
                kind, payload, read = _receive(results)
                if told_read is not None:
                    told_read(read)
                if kind == _RECORDS:
                    yield from payload
                elif kind == _RUNS and runs is not None:
                    for position, item in payload:
                        yield position, (runs(item) if type(item) is list else _unpickle(item))
                elif kind == _DONE:
                    finished = True
                    return
                else:
                    raise ParseProcessFailed(f"the process that parsed the CSV stopped: {payload}")
    finally:
        _stop(pid, finished)
        if feeder is not None:
            feeder.join(timeout=10)


def _widen(fd: int) -> None:
    """Let the pipe hold ``PIPE_BYTES`` where the system allows it (Linux): the child runs up to a dozen or so
    messages ahead instead of one, so a slow commit of the load does not stop it, nor a slow chunk of the child
    the load (the load waited 0.39-0.40 s for its rows in a million against 0.45-0.55 s with the default 64 KiB)."""
    control = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if control is None:
        return
    try:
        fcntl.fcntl(fd, control, PIPE_BYTES)
    except OSError:
        pass  # above the system's pipe-max-size: the default size


def _feed(stream: IO[bytes], fd: int) -> None:
    """Copy the source into the child's pipe; stop quietly when the child is gone."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
    except OSError:  # BrokenPipeError: the child ended first (stopped, or killed)
        pass
    finally:
        os.close(fd)


def _receive(results: IO[bytes]) -> tuple[int, Any, int]:
    header = results.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return _FAILED, "it ended without a word (killed?)", 0
    kind, size, read = _HEADER.unpack(header)
    body = results.read(size)
    if len(body) < size:
        return _FAILED, "it ended in the middle of a message", read
    if kind == _RUNS:
        return kind, marshal.loads(body), read  # noqa: S302  # nosec B302: our own child, through a pipe only we hold
    return kind, _unpickle(body), read


def _unpickle(body: bytes) -> Any:
    return pickle.loads(body)  # noqa: S301  # nosec B301: our own child, through a pipe only we hold


def _stop(pid: int, finished: bool) -> None:
    if not finished:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.waitpid(pid, 0)


def _child(  # pragma: no cover - runs in the child
    data_in: int,
    results_out: int,
    records: Records,
    prepare: Prepare | None,
    source: IO[bytes] | None,
    bytes_read: Callable[[], int] | None,
    weight: Callable[[tuple[int, Any]], int] | None,
    runs: type[list[Any]] | None,
) -> None:
    """``data_in``: the pipe the load feeds, or with ``source`` the descriptor of the local file it reads."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _keep_only(data_in, results_out)
        stream = os.fdopen(data_in, "rb", buffering=CHUNK_BYTES) if source is None else source
        read = bytes_read or _nothing_read
        with stream, os.fdopen(results_out, "wb") as out:
            try:
                found = records(stream)
                while chunk := _chunk(found, weight):
                    if prepare is not None:
                        chunk = prepare(chunk)
                    _send(out, *_encoded(chunk, runs), read())
                _send(out, _DONE, _pickled(None), read())
                code = 0
            except BrokenPipeError:
                pass  # the load is gone
            except BaseException as error:  # noqa: BLE001 - said to the load, which raises it
                _send(out, _FAILED, _pickled(f"{type(error).__name__}: {error}"[:500]), read())
    finally:
        os._exit(code)


def _chunk(
    records: Iterator[tuple[int, Any]], weight: Callable[[tuple[int, Any]], int] | None
) -> list[tuple[int, Any]]:  # pragma: no cover - runs in the child
    """The next records of one message: ``RECORDS_PER_MESSAGE`` of them, or with ``weight`` as many as weigh that."""
    if weight is None:
        return list(islice(records, RECORDS_PER_MESSAGE))
    chunk, total = [], 0
    for record in records:
        chunk.append(record)
        total += weight(record)
        if total >= RECORDS_PER_MESSAGE:
            break
    return chunk


def _nothing_read() -> int:  # pragma: no cover - runs in the child
    return 0


def _encoded(chunk: list[tuple[int, Any]], runs: type[list[Any]] | None) -> tuple[int, bytes]:  # pragma: no cover
    """A chunk's message: with ``runs``, marshal's bytes of the chunk, each run as a plain list, any other record
    pickled on its own (a refused line, say); pickle's of the whole chunk where a run holds what marshal cannot
    write (a datetime, for a database that takes them as they are)."""
    if runs is not None:
        try:
            return _RUNS, marshal.dumps(
                [(position, list(item) if type(item) is runs else _pickled(item)) for position, item in chunk]
            )
        except ValueError:
            pass
    return _RECORDS, _pickled(chunk)


def _pickled(payload: Any) -> bytes:
    return pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)


def _send(out: IO[bytes], kind: int, body: bytes, read: int) -> None:
    out.write(_HEADER.pack(kind, len(body), read))
    out.write(body)
    out.flush()


def _keep_only(*kept: int) -> None:  # pragma: no cover - runs in the child
    """Close every inherited descriptor but stdin, stdout, stderr and ``kept``."""
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
