"""Ingest: one pure parser per vendor file format, and the pipeline that writes them to the lake.

Parsers turn a file into Arrow tables shaped like the lake's tables and write nothing, so
collectors can hand downloaded files to them; :func:`ingest_file` validates a file in one
streaming pass, commits it (one commit per table), archives the raw file and records a
``source_runs`` row.
"""

from codex_metrics.telemetry.ingest._records import IngestOptions, ParsedBatch, Reject
from codex_metrics.telemetry.ingest.archive import (
    ArchiveEntry,
    archive_entries,
    forget_in_archives,
)
from codex_metrics.telemetry.ingest.codex_otel import parse_otel_logs
from codex_metrics.telemetry.ingest.copilot_report import (
    parse_copilot_legacy,
    parse_copilot_report,
)
from codex_metrics.telemetry.ingest.otel_mapping import (
    ASSISTANTS,
    CODEX_MAPPING,
    AssistantMapping,
    EventMapping,
)
from codex_metrics.telemetry.ingest.people_csv import SURVEY_FIELDS, parse_developers, parse_survey
from codex_metrics.telemetry.ingest.pipeline import (
    FORMATS,
    Format,
    IngestReport,
    Parser,
    ingest_file,
    reprocess,
)
from codex_metrics.telemetry.ingest.receiver import OtlpReceiver, parse_listen
from codex_metrics.telemetry.ingest.seats import parse_seats

__all__ = [
    "ASSISTANTS",
    "CODEX_MAPPING",
    "FORMATS",
    "SURVEY_FIELDS",
    "ArchiveEntry",
    "AssistantMapping",
    "EventMapping",
    "Format",
    "IngestOptions",
    "IngestReport",
    "OtlpReceiver",
    "ParsedBatch",
    "Parser",
    "Reject",
    "archive_entries",
    "forget_in_archives",
    "ingest_file",
    "parse_copilot_legacy",
    "parse_copilot_report",
    "parse_developers",
    "parse_listen",
    "parse_otel_logs",
    "parse_seats",
    "parse_survey",
    "reprocess",
]
