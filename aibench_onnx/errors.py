"""Exit codes and the one exception type that the CLI turns into a one-line error."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of every `aibench` command (also listed in the README)."""

    OK = 0
    CHECK_FAILED = 1  # a gate failed: parity mismatch, regression, unavailable provider that was required
    BAD_INPUT = 2  # usage error, unknown model/flag, unreadable or unwritable path
    ENVIRONMENT = 3  # something the command needs is not installed or cannot load
    CANNOT_RUN = 4  # a runtime cannot run the graph (read, compile or run refused); nothing compared wrong
    INTERRUPTED = 130  # Ctrl-C; results already written are kept


class UserError(Exception):
    """A problem the user can fix; the CLI prints its message on one line and exits with `code`."""

    def __init__(self, message: str, code: ExitCode = ExitCode.BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code
