"""The exit statuses of every command (listed in smapsfmt._cli.common), and the writers of
standard output and error that every command goes through.

This module imports nothing but os and sys: ``smapsfmt ps`` runs on it without the argument
parser's machinery (smapsfmt._cli.main), so its start-up stays the interpreter's.
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 128 + 2  # SIGINT, as a shell reports a command it interrupted
EXIT_PIPE = 128 + 13  # SIGPIPE: the reader of standard output went before the status was known


class UsageError(Exception):
    """A problem with how smapsfmt was called or with reaching its input: exit status 2."""


class OutputError(Exception):
    """Standard output cannot be written (closed, or a full disk): exit status 2."""


_pipe_closed = False  # the reader of standard output has gone (EPIPE): output is discarded


def out(text: str) -> None:
    """Write to standard output. When its reader has gone (EPIPE, ``| head``), the rest of the
    output is discarded quietly and the command runs to its end, so that its exit status is the
    one it would have had; any other write error is an OutputError (exit 2)."""
    global _pipe_closed  # noqa: PLW0603 - one standard output per process
    if _pipe_closed:
        return
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    try:
        sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    except BrokenPipeError:
        _pipe_closed = True
        discard_stdout()
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def flush() -> None:
    global _pipe_closed  # noqa: PLW0603
    if sys.stdout is None or _pipe_closed:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed = True
        discard_stdout()
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def err(text: str) -> None:
    """Write to standard error; never fails (there is nowhere left to report to)."""
    try:
        sys.stderr.buffer.write(text.encode("utf-8", "backslashreplace"))
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def stderr_is_terminal() -> bool:
    """Whether standard error is a terminal (where progress is shown: smapsfmt.triage.progress)."""
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def discard_stdout() -> None:
    """Point standard output at /dev/null, so that what is still buffered cannot fail again
    when the interpreter exits."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def reset_output() -> None:
    """Start a run of the command line with standard output usable (see ``out``)."""
    global _pipe_closed  # noqa: PLW0603
    _pipe_closed = False
