"""OTLP/HTTP JSON log exports (Codex CLI and mapped assistants) -> ``codex_requests`` and tools.

A file holds one ``ExportLogsServiceRequest`` (``{"resourceLogs": [...]}``) or several, one per
line (the OpenTelemetry Collector's file exporter, our ``--listen`` receiver). Each log record is
keyed on its event-name *attribute* and mapped by an
:class:`~codex_metrics.telemetry.ingest.otel_mapping.AssistantMapping`; records of unmapped
events or other services are skipped. Within a conversation, in time order, the token-bearing
``response.completed`` record is joined to the latest request before it, ``codex.turn_ttft`` to
the first request of its turn (a turn starts at ``codex.user_prompt``), and the reasoning effort
of ``codex.conversation_starts`` to every request. Attribute values arrive as strings and are
cast to the column's type; a value that does not cast fails the file with its JSON path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.errors import InputFormatError
from codex_metrics.lake.tables import TABLES
from codex_metrics.telemetry.ingest._kinds import kind_of, wrong_kind_message
from codex_metrics.telemetry.ingest._reading import load_documents
from codex_metrics.telemetry.ingest._records import IngestOptions, ParsedBatch, Reject, hash64
from codex_metrics.telemetry.ingest._rows import RowError
from codex_metrics.telemetry.ingest.otel_mapping import (
    CODEX_MAPPING,
    AssistantMapping,
    EventMapping,
)

__all__ = ["any_value", "parse_otel_logs", "request_status"]

_TYPES = {
    name: {c.name: c.type for c in TABLES[name].columns}
    for name in ("codex_requests", "codex_tool_events")
}
_HASHED = ("call_id",)
_NON_NEGATIVE = ("duration_ms", "escalated_duration_ms", "time_to_first_token_ms", "attempt")
_MAX_ERROR = 500


def any_value(value: Any) -> Any:
    """The Python value of an OTLP JSON ``AnyValue``."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        raw = value["intValue"]
        return int(raw) if isinstance(raw, str) and raw.lstrip("-").isdigit() else raw
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values", []))
    return None


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``attributes`` (a list of ``{key, value}``) as a dictionary."""
    out: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and "key" in item:
            out[str(item["key"])] = any_value(item.get("value"))
    return out


def _cast(value: Any, column: str, type_: pa.DataType | None, where: str) -> Any:
    if value is None or value == "":
        return None
    if column in _HASHED:
        return hash64(value)
    if type_ is None or pa.types.is_string(type_):
        text = str(value)
        if column in ("auth_mode", "decision"):
            text = text.lower()
        return text[:_MAX_ERROR] if column == "error_message" else text
    if pa.types.is_boolean(type_):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise RowError(where, f"must be true or false, not {value!r}")
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number != number:
        raise RowError(where, f"must be a number, not {value!r}")
    if column in _NON_NEGATIVE and number < 0:
        raise RowError(where, f"must not be negative, not {value!r}")
    if pa.types.is_integer(type_):
        if not number.is_integer():
            raise RowError(where, f"must be a whole number, not {value!r}")
        if column.endswith("_tokens") and number < 0:
            raise RowError(where, f"must not be negative, not {value!r}")
        return int(number)
    return number


def request_status(row: Mapping[str, Any]) -> str:
    """``ok``, ``timeout``, ``cancelled`` or ``error`` from status code, error and success."""
    text = str(row.get("error_message") or "").lower()
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "cancel" in text or "abort" in text:
        return "cancelled"
    code = row.get("http_status")
    if text or row.get("success") is False or (code is not None and code >= 400):
        return "error"
    return "ok"


@dataclass
class _Event:
    role: str
    conversation: str
    time: datetime
    seq: int
    values: dict[str, Any] = field(default_factory=dict)


def _time(attrs: Mapping[str, Any], record: Mapping[str, Any], key: str, where: str) -> datetime:
    stamp = attrs.get(key)
    if stamp:
        try:
            moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            raise RowError(f"{where}.attributes[{key}]", f"{stamp!r} is not a timestamp") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    for name in ("observedTimeUnixNano", "timeUnixNano"):
        raw = record.get(name)
        if raw not in (None, "", "0", 0):
            try:
                return datetime.fromtimestamp(int(raw) / 1e9, UTC)
            except (TypeError, ValueError):
                raise RowError(f"{where}.{name}", f"{raw!r} is not a time") from None
    raise RowError(where, f"has no time ({key} or observedTimeUnixNano)")


def _matches(mapping: EventMapping, attrs: Mapping[str, Any]) -> bool:
    for key, wanted in mapping.when.items():
        if key not in attrs or (wanted is not None and attrs[key] != wanted):
            return False
    return True


def _event(
    record: dict[str, Any],
    resource: Mapping[str, Any],
    assistant: AssistantMapping,
    options: IngestOptions,
    where: str,
    seq: int,
) -> _Event | None:
    attrs = attributes(record.get("attributes"))
    name = attrs.get(assistant.event_key)
    mapping = assistant.events.get(str(name)) if name is not None else None
    if mapping is None or not _matches(mapping, attrs):
        return None
    conversation = attrs.get(assistant.conversation_key)
    if conversation in (None, ""):
        raise RowError(f"{where}.attributes[{assistant.conversation_key}]", "is missing")
    table = "codex_tool_events" if mapping.role == "tool" else "codex_requests"
    values: dict[str, Any] = {}
    for column, key in {**assistant.common, **mapping.attributes}.items():
        type_ = _TYPES[table].get(column) or _TYPES["codex_tool_events"].get(column)
        values[column] = _cast(attrs.get(key), column, type_, f"{where}.attributes[{key}]")
    values.update(mapping.constants)
    person = next((attrs[k] for k in assistant.person_keys if attrs.get(k)), None)
    values["developer_id"] = options.pseudonymise(str(person)) if person else None
    values["service_name"] = resource.get("service.name") or attrs.get("service.name")
    values["client_version"] = values.get("client_version") or resource.get("service.version")
    values["conversation_id"] = hash64(conversation)
    values["_name"] = str(name)
    values["_stamp"] = attrs.get(assistant.timestamp_key) or record.get("observedTimeUnixNano")
    moment = _time(attrs, record, assistant.timestamp_key, where)
    return _Event(mapping.role, str(conversation), moment, seq, values)


def _records(doc: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    for i, rl in enumerate(doc.get("resourceLogs") or []):
        resource = attributes(((rl or {}).get("resource") or {}).get("attributes"))
        for j, sl in enumerate((rl or {}).get("scopeLogs") or []):
            for k, record in enumerate((sl or {}).get("logRecords") or []):
                if isinstance(record, dict):
                    yield record, resource, f"$.resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"


def _rows(events: list[_Event]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Requests (with tokens, TTFT and session attributes joined) and tool rows."""
    requests: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    by_conversation: dict[str, list[_Event]] = {}
    for e in events:
        by_conversation.setdefault(e.conversation, []).append(e)
    for conversation, items in by_conversation.items():
        items.sort(key=lambda e: (e.time, e.seq))
        session: dict[str, Any] = {}
        mine: list[dict[str, Any]] = []
        turn_first: dict[str, Any] | None = None
        pending_ttft: Any = None
        for e in items:
            row = {**e.values, "timestamp": e.time, "day": e.time.date()}
            if e.role == "turn":
                turn_first, pending_ttft = None, None
            elif e.role == "session":
                session.update({k: v for k, v in e.values.items() if k == "reasoning_effort"})
            elif e.role == "request":
                row["request_id"] = hash64(conversation, row["_stamp"], row["_name"],
                                           row.get("attempt"), row.get("duration_ms"))  # fmt: skip
                row["status"] = request_status(row)
                row["model_version"] = row.get("model_version") or "unknown"
                mine.append(row)
                if turn_first is None:
                    turn_first = row
                    if pending_ttft is not None:
                        row["time_to_first_token_ms"], pending_ttft = pending_ttft, None
            elif e.role == "ttft":
                ttft = e.values.get("time_to_first_token_ms")
                if turn_first is not None and turn_first.get("time_to_first_token_ms") is None:
                    turn_first["time_to_first_token_ms"] = ttft
                elif turn_first is None and pending_ttft is None:
                    pending_ttft = ttft
            elif e.role == "tokens":
                target = next((r for r in reversed(mine) if r.get("input_tokens") is None), None)
                if target is not None:
                    for column in ("input_tokens", "cached_input_tokens", "output_tokens",
                                   "reasoning_tokens", "tool_tokens"):  # fmt: skip
                        target[column] = e.values.get(column)
            elif e.role == "tool":
                call = e.values.get("call_id")
                row["event_id"] = hash64(conversation, row["_name"], call, row["_stamp"])
                tools.append(row)
        for row in mine:
            row.setdefault("reasoning_effort", session.get("reasoning_effort"))
        requests += mine
    return requests, tools


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    spec = TABLES[name]
    fields = [c for c in spec.columns if c.name not in ("source", "scope", "ingested_at", "run_id")]
    cols = {c.name: pa.array([r.get(c.name) for r in rows], c.type) for c in fields}
    cols["day"] = pa.array([r["day"] for r in rows], pa.date32())
    return pa.table(cols)


def parse_otel_logs(
    path: Path, options: IngestOptions, assistant: AssistantMapping = CODEX_MAPPING
) -> Iterator[ParsedBatch]:
    """Batches of an OTLP/JSON log export: requests and tool events of ``assistant``.

    Raises:
        InputFormatError: not an OTLP log export, or a bad record (line and JSON path).
    """
    events: list[_Event] = []
    rejects: list[Reject] = []
    seq = 0
    for doc in load_documents(path):
        line = doc.line if doc.several else None
        value = doc.value
        if not isinstance(value, dict) or "resourceLogs" not in value:
            keys = list(value) if isinstance(value, dict) else None
            raise InputFormatError(
                path, wrong_kind_message(kind_of(value), "codex-otel", keys), line=line
            )
        for record, resource, where in _records(value):
            service = resource.get("service.name")
            if service and assistant.service_names and service not in assistant.service_names:
                continue
            try:
                event = _event(record, resource, assistant, options, where, seq)
            except RowError as exc:
                if not options.skip_bad_lines:
                    raise InputFormatError(path, exc.message, line=line, field=exc.field) from None
                rejects.append(Reject(line, exc.field, exc.message, str(record)[:20_000]))
                continue
            seq += 1
            if event is not None:
                events.append(event)
    requests, tools = _rows(events)
    scope = options.org or "default"
    tables = {}
    if requests:
        tables["codex_requests"] = _table("codex_requests", requests)
    if tools:
        tables["codex_tool_events"] = _table("codex_tool_events", tools)
    yield ParsedBatch(scope=scope, tables=tables, rejects=rejects)
