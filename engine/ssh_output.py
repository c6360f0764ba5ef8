"""Splitting a remote command's output into lines as it arrives, with bounded memory."""

from __future__ import annotations

from collections.abc import Callable

# A longer line is cut at this many bytes and marked, so one endless line cannot exhaust memory.
MAX_LINE_BYTES = 65536


class LineSplitter:
    """Pass each complete line of a byte stream to a callback, cutting lines past max_bytes.

    Lines are decoded as UTF-8 (invalid bytes replaced) without their newline or a trailing CR.
    The buffer never contains more than max_bytes plus one fed chunk.
    """

    def __init__(self, on_line: Callable[[str], None] | None, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._on_line = on_line
        self._max_bytes = max_bytes
        self._pending = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> None:
        self._pending += data

        while (end := self._pending.find(b"\n")) >= 0:
            line = bytes(self._pending[:end])
            del self._pending[: end + 1]
            if self._discarding:
                self._discarding = False  # this newline ends a line already cut and passed on
            else:
                self._emit(line)

        if len(self._pending) > self._max_bytes:
            if not self._discarding:
                self._emit(bytes(self._pending))
            self._discarding = True
            self._pending.clear()

    def flush(self) -> None:
        """Pass on a final line that has no newline."""
        if self._pending and not self._discarding:
            self._emit(bytes(self._pending))
        self._pending.clear()
        self._discarding = False

    def _emit(self, raw: bytes) -> None:
        cut = len(raw) > self._max_bytes
        text = raw[: self._max_bytes].decode("utf-8", errors="replace").removesuffix("\r")
        if cut:
            text += f" [line cut at {self._max_bytes} bytes]"
        if self._on_line is not None:
            self._on_line(text)
