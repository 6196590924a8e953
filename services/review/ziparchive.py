"""A ZIP written as it is read: entries go out chunk by chunk, never the whole archive in memory.

`zipfile` writes data descriptors when its target cannot seek, so each entry can be streamed
without knowing its size first.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator

from shared.filenames import zip_entry_name


class _Pipe:
    """A write-only, non-seekable sink whose bytes are drained by the generator."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.written = 0

    def write(self, data: bytes) -> int:
        if data:
            self.chunks.append(bytes(data))
            self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        return None

    def close(self) -> None:  # ZipFile never closes a file it was handed; the protocol asks
        return None

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


Entry = tuple[str, Callable[[], Iterable[bytes]]]
Fallback = Callable[[str, Exception], tuple[str, bytes]]


def stream_zip(entries: Iterable[Entry], before_entry: Callable[[str], None] | None = None,
               on_error: Fallback | None = None) -> Iterator[bytes]:
    """Yield a ZIP of `entries` (name, opener of its chunks). `before_entry` runs before each
    entry is opened and may raise to stop the download there (e.g. access was revoked). An
    entry whose first chunk fails is replaced by what `on_error` returns (a note), so one bad
    file does not break the archive; without `on_error` the error stops the stream."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as archive:
        for name, opener in entries:
            if before_entry is not None:
                before_entry(name)
            # The first chunk is taken before the entry's header is written: a file that
            # fails to open can still be swapped for a note.
            try:
                chunks = iter(opener())
                first = next(chunks, b"")
            except Exception as exc:
                if on_error is None:
                    raise
                name, note = on_error(name, exc)
                chunks, first = iter(()), note
            info = zipfile.ZipInfo(zip_entry_name(name))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(first)
                for chunk in chunks:
                    member.write(chunk)
                    if pipe.written and len(pipe.chunks) > 4:
                        yield pipe.drain()
            yield pipe.drain()
    tail = pipe.drain()
    if tail:
        yield tail
