"""One output policy: what is payload (stdout) and what is diagnostic (stderr).

Commands never print directly: they ask this object. ``--quiet`` silences warnings and
progress; errors are always shown; machine formats on stdout never contain colour.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape


@dataclass
class Output:
    quiet: bool = False
    color: bool | None = None  # None: rich decides (NO_COLOR, TERM, tty)
    out: Console = field(init=False)
    err: Console = field(init=False)

    def __post_init__(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.color is False:
            kwargs["no_color"] = True
            kwargs["color_system"] = None
        elif self.color is True:
            kwargs["force_terminal"] = True
        self.out = Console(file=sys.stdout, highlight=False, soft_wrap=False, **kwargs)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True, **kwargs)

    @property
    def stdout_is_terminal(self) -> bool:
        return sys.stdout.isatty()

    def data(self, text: str) -> None:
        """Machine-readable payload: written raw (no markup, no colour, no wrapping)."""
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(escape(message))

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/bold red] {escape(message)}")


def debug_enabled(flag: bool = False) -> bool:
    return flag or os.environ.get("CSM_DEBUG", "") not in ("", "0", "false")
