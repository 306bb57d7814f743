"""Stop requests from the scheduler: the run checkpoints and exits cleanly when one arrives."""

from __future__ import annotations

import signal
from typing import Any


class StopFlag:
    """Set by SIGTERM/SIGUSR1/SIGUSR2 (Slurm's and submitit's preemption and timeout signals).

    The handler only records the signal's name; the loop polls `signal_name` once per vector step
    (and evaluation once per step), so the stop happens at a point where the state can be saved.
    """

    SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2")

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def install(self) -> None:
        """Handle the stop signals (only possible in the main thread; elsewhere they stay with the caller)."""
        for name in self.SIGNALS:
            signum = getattr(signal, name)
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:
                return

    def restore(self) -> None:
        """Give the signals back to the handlers they had before `install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name
