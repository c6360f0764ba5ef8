"""Splitting a remote command's output into lines as it arrives, and capping what reaches the job log."""

from __future__ import annotations

from collections import deque
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


# Each command's output goes to the job log up to this many characters, and past it only a tail.
# A command that prints hundreds of megabytes then fills neither the state database nor memory.
MAX_LOGGED_CHARS = 1024 * 1024
LOGGED_TAIL_CHARS = 64 * 1024


class OutputLimiter:
    """Pass lines on until head_chars characters have passed, then keep only the last tail_chars.

    Call it with each line; finish() passes on the kept tail after a line that counts the
    lines left out. Memory stays within tail_chars plus one line, and the line splitter
    bounds a line to MAX_LINE_BYTES.
    """

    def __init__(
        self,
        on_line: Callable[[str], None],
        *,
        head_chars: int = MAX_LOGGED_CHARS,
        tail_chars: int = LOGGED_TAIL_CHARS,
    ) -> None:
        self._on_line = on_line
        self._head_chars = head_chars
        self._tail_chars = tail_chars
        self._passed_chars = 0
        self._tail: deque[str] = deque()
        self._tail_size = 0
        self.cut_lines = 0
        """Lines held back after the head, including those finish() passes on as the tail."""

    @property
    def cutting(self) -> bool:
        return self.cut_lines > 0

    def __call__(self, line: str) -> None:
        size = len(line) + 1
        if not self.cutting and self._passed_chars + size <= self._head_chars:
            self._passed_chars += size
            self._on_line(line)
            return

        if not self.cutting:
            self._on_line(
                f"[output cut: this command printed more than {self._head_chars // 1024} KiB, so the job log "
                "skips the rest and shows its last lines when it ends]"
            )
        self.cut_lines += 1
        self._tail.append(line)
        self._tail_size += size
        while self._tail_size > self._tail_chars and len(self._tail) > 1:
            self._tail_size -= len(self._tail.popleft()) + 1

    def finish(self) -> None:
        """Pass on the kept tail, after a line that counts the lines left out."""
        if not self.cutting:
            return

        shown = len(self._tail)
        self._on_line(f"[output cut: {self.cut_lines - shown} lines left out; the last {shown} lines follow]")
        while self._tail:
            self._on_line(self._tail.popleft())
        self._tail_size = 0
