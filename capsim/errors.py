"""Error types that carry where a problem is (file, line, column, field path) and the exit code.

Every user-facing failure in capsim is one of these; the CLI is the only place that turns them
into messages and exit codes, so library callers get exceptions, never ``sys.exit``.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def format(self) -> str:
        """Render as ``file:line:column: dotted.path: message`` (missing parts left out).

        Characters that are not printable (control codes, line separators, terminal escapes) in
        a key or value taken from the file are shown escaped, so one problem stays one line.
        """
        where = printable(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        path, message = printable(self.path), printable(self.message)
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"


def printable(text: str) -> str:
    r"""``text`` with every non-printable character escaped as Python would (``\x1b`` etc.)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class CapsimError(Exception):
    """Base of every error capsim reports to a user without a traceback."""

    exit_code: int = EXIT_FAILURE

    def messages(self) -> list[str]:
        """Lines to print for this error (non-printable characters escaped)."""
        return [printable(line) for line in str(self).splitlines()] or [type(self).__name__]


class ScenarioError(CapsimError):
    """A scenario file (or override) is invalid; carries every problem found, not just the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("ScenarioError needs at least one problem")
        self.problems = sorted(set(problems), key=_problem_order)
        super().__init__("\n".join(p.format() for p in self.problems))

    def messages(self) -> list[str]:
        return [p.format() for p in self.problems]


def _problem_order(problem: Problem) -> tuple[str, int, int, str, str]:
    """Sort key of a problem: file, line, column, field path, message."""
    return (problem.file, problem.line or 0, problem.column or 0, problem.path, problem.message)


class UsageError(CapsimError):
    """A command-line argument is wrong (bad option value, unknown run directory...)."""

    exit_code = EXIT_BAD_INPUT


class OutputError(CapsimError):
    """The results directory cannot be written (exists, unwritable, disk full...)."""

    exit_code = EXIT_OUTPUT


class RunInterruptedError(CapsimError):
    """The user interrupted a run; the partial run can be resumed."""

    exit_code = EXIT_INTERRUPTED
