"""Exit codes and the errors that map onto them.

Every failure a user can cause is a :class:`CsmError` carrying an exit code and a message
that says what went wrong, where, and how to fix it. The CLI turns them into one line on
stderr (no traceback unless ``--debug``); anything else is an internal error (70).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ALERTS_FIRED = 1
    USAGE = 2
    DATA_ERROR = 65  # EX_DATAERR: invalid input data
    NO_INPUT = 66  # EX_NOINPUT: an input file missing or unreadable
    INTERNAL = 70  # EX_SOFTWARE
    CANT_CREATE = 73  # EX_CANTCREAT: cannot write an output
    CONFIG = 78  # EX_CONFIG: invalid spec
    INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One finding: a level, a location ("metrics.yaml:12:5") and a message with the fix."""

    message: str
    location: str = ""
    level: str = "error"  # error | warning
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.level}: {self.message}"

    def describe(self) -> str:
        """'location: message', for output that states the level itself."""
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass
class CsmError(Exception):
    """A user-facing failure. ``problems`` lets one error carry several findings."""

    message: str
    exit_code: ExitCode = ExitCode.INTERNAL
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] if self.message else []
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)


class SpecError(CsmError):
    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, ExitCode.CONFIG, list(problems or []))


class DataError(CsmError):
    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, ExitCode.DATA_ERROR, list(problems or []))


class InputMissingError(CsmError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.NO_INPUT)


class OutputError(CsmError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.CANT_CREATE)


class UsageError(CsmError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class ExprError(CsmError):
    """A user SQL expression that cannot be parsed or uses a construct outside the whitelist.

    ``position`` is the 0-based character offset in ``text`` where the problem starts
    (None when unknown); ``text`` is the whole expression.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        super().__init__(message, ExitCode.CONFIG)
        self.text = text
        self.position = position
