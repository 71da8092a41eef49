"""The single exception tree of codex-metrics.

Every error the library raises on purpose derives from ``CodexMetricsError``; the CLI turns
any of them into one line on stderr and a non-zero exit code. Messages say what happened and
what to do about it; the exceptions carry the context (path, line, field, metric) as attributes.

Bad *data* inside a batch (an empty experiment arm, zero variance) is not an exception: the
statistics layer returns a result with a stable status code instead.

    CodexMetricsError
    ├── ConfigError                 bad or unreadable settings (config file, environment, option)
    │   └── ParameterError          a parameter out of range or unknown (names the field)
    ├── LakeError                   the Delta lake cannot be used as asked
    │   ├── LakePathError           the lake path is unusable (a file, not writable, ...)
    │   ├── LakeFormatError         previous layout, newer schema, or Delta features we cannot read
    │   ├── LakeBusyError           another process held a lake lock too long
    │   ├── LakeConflictError       concurrent commits kept conflicting after the retries
    │   ├── LakeCorruptError        a data file of a snapshot is missing or unreadable
    │   └── SchemaMismatchError     rows do not fit a table's declared schema
    ├── DataNotFoundError           a table, experiment, run or file that is not there
    ├── InputFormatError            an input file is malformed (names file, line and field)
    ├── MetricError                 unknown metric, dimension or filter
    ├── CollectorError              a remote API call failed; carries ``url`` and ``status``
    │   ├── AuthError               missing or rejected credentials (401; 403 scope, SSO, policy)
    │   ├── RateLimitedError        rate limited; carries ``reset_at``, ``resource``, ``secondary``
    │   ├── BudgetExhaustedError    the run's request budget is spent; carries ``used``, ``budget``
    │   ├── RemoteNotFoundError     404: not there, or hidden from these credentials
    │   ├── RequestRejectedError    400/422: the API refused the request as sent
    │   └── ResponseFormatError     a truncated or malformed response body
    ├── SandboxError                the code-evaluation sandbox cannot run as asked
    └── ProviderError               a model provider (OpenAI-compatible server) failed
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

__all__ = [
    "AuthError",
    "BudgetExhaustedError",
    "CodexMetricsError",
    "CollectorError",
    "ConfigError",
    "DataNotFoundError",
    "InputFormatError",
    "LakeBusyError",
    "LakeConflictError",
    "LakeCorruptError",
    "LakeError",
    "LakeFormatError",
    "LakePathError",
    "MetricError",
    "ParameterError",
    "ProviderError",
    "RateLimitedError",
    "RemoteNotFoundError",
    "RequestRejectedError",
    "ResponseFormatError",
    "SandboxError",
    "SchemaMismatchError",
]


class CodexMetricsError(Exception):
    """Base of every error codex-metrics raises on purpose."""


class ConfigError(CodexMetricsError):
    """Settings could not be read or are invalid."""


class ParameterError(ConfigError):
    """A parameter is out of range or unknown.

    Attributes:
        field: the parameter's name as the user spelled it (e.g. ``developers`` or ``ab.lift``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class LakeError(CodexMetricsError):
    """The lake cannot be read or written as asked."""


class LakePathError(LakeError):
    """The lake path cannot hold a lake."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"lake path {path}: {message}")
        self.path = path


class LakeFormatError(LakeError):
    """The lake or a table is in a format this version cannot use (names the path and the fix)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class LakeBusyError(LakeError):
    """A lake lock could not be taken in time (another writer or vacuum is running)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"lake {path}: {message}")
        self.path = path


class LakeConflictError(LakeError):
    """Concurrent writers kept conflicting on a table after the bounded retries."""

    def __init__(self, table: str, message: str) -> None:
        super().__init__(f"table {table}: {message}")
        self.table = table


class LakeCorruptError(LakeError):
    """A data file referenced by the snapshot being read is missing or unreadable.

    Attributes:
        table: the table.
        file: the file's path, relative to the table's directory.
    """

    def __init__(self, table: str, file: str, problem: str) -> None:
        super().__init__(
            f"table {table}: data file {file} {problem}; run `codex-metrics lake check` to list "
            "every damaged file, then restore it from a backup or re-run the command that wrote it"
        )
        self.table = table
        self.file = file


class SchemaMismatchError(LakeError):
    """Rows handed to the lake do not match the table's schema."""

    def __init__(self, table: str, message: str) -> None:
        super().__init__(f"table {table}: {message}")
        self.table = table


class DataNotFoundError(CodexMetricsError):
    """Something asked for (table, experiment, run, file) is not there."""


class InputFormatError(CodexMetricsError):
    """An input file is malformed.

    Attributes:
        path: the file.
        line: 1-based line number, when the format has lines.
        field: the offending field, when known.
    """

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.field = field


class MetricError(CodexMetricsError):
    """An unknown metric, dimension or filter, or a metric used where it cannot be."""


class CollectorError(CodexMetricsError):
    """A remote API call failed.

    Attributes:
        url: the URL called, without its query string (which may hold keys or signatures).
        status: the HTTP status, when a response came back.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message if url is None else f"{message} ({url})")
        self.url = url
        self.status = status


class AuthError(CollectorError):
    """Credentials are missing or were rejected, or lack a permission (the message names it)."""


class RateLimitedError(CollectorError):
    """The API rate limit is exhausted until ``reset_at``.

    Attributes:
        reset_at: when the limit resets (UTC), when known.
        resource: the rate-limit bucket (``core``, ``search``, ``code_search``, ``quota``).
        secondary: a secondary (abuse) limit rather than the hourly primary one.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        reset_at: datetime | None = None,
        resource: str | None = None,
        secondary: bool = False,
        status: int | None = None,
    ):
        super().__init__(message, url=url, status=status)
        self.reset_at = reset_at
        self.resource = resource
        self.secondary = secondary


class BudgetExhaustedError(CollectorError):
    """The run spent its request budget (``--max-requests``); what was fetched is kept.

    Attributes:
        used: requests made.
        budget: the budget.
    """

    def __init__(self, used: int, budget: int) -> None:
        super().__init__(
            f"request budget of {budget} spent ({used} requests); rows fetched so far are "
            "committed and the next run continues from there (raise --max-requests to go further)"
        )
        self.used = used
        self.budget = budget


class RemoteNotFoundError(CollectorError):
    """A 404: the resource does not exist, or these credentials may not see it."""


class RequestRejectedError(CollectorError):
    """The API refused the request as sent (400, 422): the message says which part."""


class ResponseFormatError(CollectorError):
    """A response body was truncated or not the shape the API documents."""


class SandboxError(CodexMetricsError):
    """The code-evaluation sandbox is unavailable or misconfigured."""


class ProviderError(CodexMetricsError):
    """A model provider failed in a way retries could not fix."""
