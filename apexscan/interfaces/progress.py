"""Progress of a long scan on standard error, with click's progress bar.

Shown only when standard error is a terminal and the scan has been running for more than `delay`
seconds, so that quick scans, pipes and CI logs stay clean. The pipeline reports its stages
through `pipeline.scan.Progress` ("parse" with a count of files, then "link" and "search"); a
timer shows the current stage once the delay has passed, even when no new report arrives.
"""
from __future__ import annotations

import threading
from typing import TextIO

import click

DELAY_SECONDS = 1.0
LABELS = {"parse": "apexscan: parsing files", "link": "apexscan: linking", "search": "apexscan: searching paths"}


class ScanProgress:
    """A `pipeline.scan.Progress` callback that draws on `stream`; use it as a context manager."""

    def __init__(self, stream: TextIO, *, delay: float = DELAY_SECONDS, enabled: bool | None = None) -> None:
        self.stream = stream
        self.enabled = _is_terminal(stream) if enabled is None else enabled
        self.delay = delay
        self._lock = threading.Lock()
        self._state: tuple[str, int, int] | None = None
        self._shown = False
        self._stage = ""
        self._bar = None
        self._timer: threading.Timer | None = None

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._finish_bar()
            self._shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._state = (stage, done, total)
            if self._shown:
                self._render()

    def _show(self) -> None:
        with self._lock:
            self._shown = True
            if self._state is not None:
                self._render()

    def _render(self) -> None:
        stage, done, total = self._state
        if stage != self._stage:
            self._finish_bar()
            self._stage = stage
            label = LABELS.get(stage, f"apexscan: {stage}")
            if total:
                self._bar = click.progressbar(length=total, label=label, file=self.stream, show_pos=True)
                self._bar.__enter__()
            else:
                self.stream.write(label + " …\n")
                self.stream.flush()
        if self._bar is not None and done > self._bar.pos:
            self._bar.update(done - self._bar.pos)

    def _finish_bar(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
