"""Declarative mappings from an assistant's OpenTelemetry log events to lake columns.

Another assistant that exports OTLP logs is added by writing one more :class:`AssistantMapping`
(which ``event.name`` values it sends, which attribute fills which column), not code. A mapping
names, per event:

* ``role``: ``request`` (a row of ``codex_requests``), ``tool`` (a row of
  ``codex_tool_events``), ``tokens`` (token counts joined to the latest request of the same
  conversation), ``ttft`` (time to first token, joined to the first request of the turn),
  ``turn`` (a new turn starts: a prompt), ``session`` (attributes of the conversation copied to
  its requests, e.g. reasoning effort);
* ``attributes``: column -> attribute key (values are cast to the column's type: OTLP sends
  Codex's numbers as strings);
* ``constants`` and ``when`` (attribute values the record must have, e.g. the token-bearing
  ``codex.sse_event`` is the one with ``event.kind = response.completed`` and token counts).

Attribute keys are taken from the Codex source (shared/fixtures/codex-otel/
EVENT_ATTRIBUTES_FROM_SOURCE.md). Prompt text, tool arguments and tool output are never mapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ASSISTANTS", "CODEX_MAPPING", "AssistantMapping", "EventMapping"]

Role = Literal["request", "tool", "tokens", "ttft", "turn", "session"]


@dataclass(frozen=True)
class EventMapping:
    """How one log event, by its event-name attribute, reaches the lake."""

    role: Role
    attributes: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    when: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AssistantMapping:
    """An assistant's OTLP log export, mapped onto ``codex_requests`` and ``codex_tool_events``.

    Attributes:
        source: the lake ``source`` of its rows.
        service_names: ``service.name`` values it uses (records of other services are skipped).
        event_key: the attribute naming the event (never ``LogRecord.eventName``, which has
            held a source location in some Codex builds).
        timestamp_key: the attribute with the event time (else ``observedTimeUnixNano``).
        conversation_key: the attribute identifying a session.
        person_keys: attributes identifying the person, first present wins (pseudonymised).
        common: column -> attribute, filled on every row.
        events: event name -> mapping; events not listed are counted and skipped.
    """

    source: str
    service_names: tuple[str, ...]
    events: Mapping[str, EventMapping]
    event_key: str = "event.name"
    timestamp_key: str = "event.timestamp"
    conversation_key: str = "conversation.id"
    person_keys: tuple[str, ...] = ("user.email", "user.account_id")
    common: Mapping[str, str] = field(default_factory=dict)


_REQUEST = {
    "attempt": "attempt",
    "http_status": "http.response.status_code",
    "error_message": "error.message",
    "duration_ms": "duration_ms",
    "endpoint": "endpoint",
    "success": "success",
}
_TOOL = {"tool_name": "tool_name", "call_id": "call_id"}

#: The Codex CLI (``codex-rs/otel``): logs exporter events.
CODEX_MAPPING = AssistantMapping(
    source="codex-otel",
    service_names=("codex_cli_rs", "codex-cli", "codex_exec", "codex_tui"),
    common={
        "client_version": "app.version",
        "model_version": "model",
        "auth_mode": "auth_mode",
    },
    events={
        "codex.api_request": EventMapping("request", _REQUEST, constants={"transport": "http"}),
        "codex.websocket_request": EventMapping(
            "request", _REQUEST, constants={"transport": "websocket"}
        ),
        "codex.sse_event": EventMapping(
            "tokens",
            {
                "input_tokens": "input_token_count",
                "cached_input_tokens": "cached_token_count",
                "output_tokens": "output_token_count",
                "reasoning_tokens": "reasoning_token_count",
                "tool_tokens": "tool_token_count",
            },
            when={"event.kind": "response.completed", "input_token_count": None},
        ),
        "codex.turn_ttft": EventMapping("ttft", {"time_to_first_token_ms": "duration_ms"}),
        "codex.user_prompt": EventMapping("turn"),
        "codex.conversation_starts": EventMapping(
            "session", {"reasoning_effort": "reasoning_effort"}
        ),
        "codex.tool_decision": EventMapping(
            "tool",
            {**_TOOL, "decision": "decision", "decision_source": "source"},
            constants={"kind": "decision"},
        ),
        "codex.tool_result": EventMapping(
            "tool",
            {
                **_TOOL,
                "success": "success",
                "duration_ms": "duration_ms",
                "mcp_server": "mcp_server",
            },
            constants={"kind": "result"},
        ),  # fmt: skip
        "codex.sandbox_outcome": EventMapping(
            "tool",
            {
                **_TOOL,
                "sandbox_outcome": "outcome",
                "duration_ms": "initial_duration_ms",
                "escalated_duration_ms": "escalated_duration_ms",
            },
            constants={"kind": "sandbox_outcome"},
        ),
    },
)

#: Every known assistant mapping, by lake source.
ASSISTANTS: dict[str, AssistantMapping] = {CODEX_MAPPING.source: CODEX_MAPPING}
