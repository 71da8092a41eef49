"""The legacy Copilot Metrics API JSON (closed 2026-04-02) -> ``copilot_entity_daily``.

Exports made before the shutdown are a JSON array of day objects whose counts sit at the
deepest level of an editor -> model -> language nesting. Each day becomes rows of the same table
as the new entity reports, with its breakdown named by the dimensions it sets:

* ``total``: ``total_active_users`` -> ``daily_active_users``, ``total_engaged_users`` ->
  ``engaged_users``; suggestions, acceptances and lines summed from the deepest level (code
  completions: the only feature the legacy API counted that way, as copilot-metrics-viewer's
  transformer maps them), chats of the IDE and github.com as interactions, chat insertion and
  copy events;
* ``feature`` rows per section (``code_completion``, ``chat``, ``dotcom_chat``,
  ``dotcom_pull_requests``), ``language_feature`` (completions by language), ``ide_feature``
  (editor), ``ide_model_feature`` (editor x model), ``ide_language_model_feature`` (editor x
  model x language, completions) and ``model_feature`` (github.com chat and PR summaries).

Engaged-user counts are distinct counts of each node, never summed. Rows are written with
source ``copilot-legacy``: for an entity-day that also has a new report, metrics read the new
report's rows (docs/data-sources.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from codex_metrics.telemetry.ingest._copilot_common import scope_of
from codex_metrics.telemetry.ingest._records import Coverage, IngestOptions, ParsedBatch
from codex_metrics.telemetry.ingest._rows import RowError
from codex_metrics.telemetry.ingest.copilot_entity import entity_table

__all__ = ["LEGACY_SECTIONS", "legacy_batches", "looks_legacy"]

LEGACY_SECTIONS = (
    "copilot_ide_code_completions",
    "copilot_ide_chat",
    "copilot_dotcom_chat",
    "copilot_dotcom_pull_requests",
)
_COUNTS = ("total_code_suggestions", "total_code_acceptances", "total_code_lines_suggested",
           "total_code_lines_accepted", "total_chats", "total_chat_insertion_events",
           "total_chat_copy_events", "total_pr_summaries_created", "total_engaged_users",
           "total_active_users")  # fmt: skip


def looks_legacy(obj: Any) -> bool:
    """Whether ``obj`` is a legacy metrics day object."""
    return isinstance(obj, dict) and "date" in obj and any(s in obj for s in LEGACY_SECTIONS)


def _number(node: dict[str, Any], key: str, path: str) -> int | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(f"{path}.{key}", f"must be a whole number, not {value!r}")
    if value < 0:
        raise RowError(f"{path}.{key}", f"must not be negative, not {value!r}")
    return value


def _list(node: dict[str, Any], key: str, path: str) -> list[tuple[dict[str, Any], str]]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError(f"{path}.{key}", "must be an array")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise RowError(f"{path}.{key}[{i}]", "must be an object")
        out.append((item, f"{path}.{key}[{i}]"))
    return out


def _section(day: dict[str, Any], name: str, path: str) -> tuple[dict[str, Any], str] | None:
    node = day.get(name)
    if node is None:
        return None
    if not isinstance(node, dict):
        raise RowError(f"{path}.{name}", "must be an object or null")
    return node, f"{path}.{name}"


def _sum(rows: list[dict[str, Any]], key: str) -> int | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) if values else None


def day_rows(day: dict[str, Any], path: str) -> tuple[date, list[dict[str, Any]]]:
    """The rows of one legacy day object (without entity columns).

    Raises:
        RowError: a bad date, count or nesting, with its JSON path.
    """
    raw_day = day.get("date")
    try:
        when = date.fromisoformat(str(raw_day))
    except ValueError:
        raise RowError(f"{path}.date", f"{raw_day!r} is not a day (YYYY-MM-DD)") from None
    rows: list[dict[str, Any]] = []

    def add(breakdown: str, node: dict[str, Any], where: str, **dims: str | None) -> dict[str, Any]:
        row = {"breakdown": breakdown, **dims,
               "engaged_users": _number(node, "total_engaged_users", where)}  # fmt: skip
        rows.append(row)
        return row

    deepest: list[dict[str, Any]] = []
    found = _section(day, "copilot_ide_code_completions", path)
    if found:
        node, where = found
        feature = add("feature", node, where, feature="code_completion")
        for lang, lw in _list(node, "languages", where):
            add("language_feature", lang, lw, language=lang.get("name"), feature="code_completion")
        for editor, ew in _list(node, "editors", where):
            ide = add("ide_feature", editor, ew, ide=editor.get("name"), feature="code_completion")
            mine: list[dict[str, Any]] = []
            for model, mw in _list(editor, "models", ew):
                m = add("ide_model_feature", model, mw, ide=editor.get("name"),
                        model=model.get("name"), feature="code_completion")  # fmt: skip
                leaves = []
                for lang, lw in _list(model, "languages", mw):
                    leaf = add("ide_language_model_feature", lang, lw, ide=editor.get("name"),
                               language=lang.get("name"), model=model.get("name"),
                               feature="code_completion")  # fmt: skip
                    leaf.update(
                        code_generation_activity_count=_number(lang, "total_code_suggestions", lw),
                        code_acceptance_activity_count=_number(lang, "total_code_acceptances", lw),
                        loc_suggested_to_add_sum=_number(lang, "total_code_lines_suggested", lw),
                        loc_added_sum=_number(lang, "total_code_lines_accepted", lw),
                    )
                    leaves.append(leaf)
                _roll(m, leaves)
                mine += leaves
            _roll(ide, mine)
            deepest += mine
        _roll(feature, deepest)
        for row in rows:
            if row["breakdown"] == "language_feature":
                _roll(row, [d for d in deepest if d.get("language") == row.get("language")])
    chats: list[dict[str, Any]] = []
    found = _section(day, "copilot_ide_chat", path)
    if found:
        node, where = found
        feature = add("feature", node, where, feature="chat")
        for editor, ew in _list(node, "editors", where):
            ide = add("ide_feature", editor, ew, ide=editor.get("name"), feature="chat")
            mine = []
            for model, mw in _list(editor, "models", ew):
                m = add("ide_model_feature", model, mw, ide=editor.get("name"),
                        model=model.get("name"), feature="chat")  # fmt: skip
                m.update(
                    user_initiated_interaction_count=_number(model, "total_chats", mw),
                    chat_insertion_events=_number(model, "total_chat_insertion_events", mw),
                    chat_copy_events=_number(model, "total_chat_copy_events", mw),
                )
                mine.append(m)
            _roll(ide, mine)
            chats += mine
        _roll(feature, chats)
    dotcom: list[dict[str, Any]] = []
    for section, name in (("copilot_dotcom_chat", "dotcom_chat"),
                          ("copilot_dotcom_pull_requests", "dotcom_pull_requests")):  # fmt: skip
        found = _section(day, section, path)
        if not found:
            continue
        node, where = found
        feature = add("feature", node, where, feature=name)
        models: dict[str, dict[str, Any]] = {}
        sources = [(node, where)] if name == "dotcom_chat" else _list(node, "repositories", where)
        for holder, hw in sources:
            for model, mw in _list(holder, "models", hw):
                key_name = model.get("name") or ""
                if key_name not in models:
                    new = add("model_feature", model, mw, model=model.get("name"), feature=name)
                    new["engaged_users"] = None if name != "dotcom_chat" else new["engaged_users"]
                    models[key_name] = new
                m = models[key_name]
                for key, column in (("total_chats", "user_initiated_interaction_count"),
                                    ("total_pr_summaries_created", "pr_summaries_created")):  # fmt: skip
                    value = _number(model, key, mw)
                    if value is not None:
                        m[column] = (m.get(column) or 0) + value
        _roll(feature, list(models.values()))
        dotcom += list(models.values())
    total = {
        "breakdown": "total",
        "daily_active_users": _number(day, "total_active_users", path),
        "engaged_users": _number(day, "total_engaged_users", path),
    }
    _roll(total, deepest + chats + dotcom)
    rows.insert(0, total)
    return when, rows


_ROLLED = ("code_generation_activity_count", "code_acceptance_activity_count",
           "loc_suggested_to_add_sum", "loc_added_sum", "user_initiated_interaction_count",
           "chat_insertion_events", "chat_copy_events", "pr_summaries_created")  # fmt: skip


def _roll(target: dict[str, Any], leaves: list[dict[str, Any]]) -> None:
    """Sum the leaves' counts into ``target`` (distinct user counts are left alone)."""
    for key in _ROLLED:
        if key not in target or target[key] is None:
            value = _sum(leaves, key)
            if value is not None:
                target[key] = value


def legacy_batches(
    days: list[tuple[Any, str, int | None]], options: IngestOptions, *, fail: Any
) -> Iterator[ParsedBatch]:
    """The batch of a legacy export's day objects ``(object, JSON path, line)``.

    The legacy API named no organization: ``--org`` (default ``default``) and ``--entity``
    (default org) say whose export it is.
    """
    entity = options.entity_type or "org"
    org = options.org or "default"
    rows: list[dict[str, Any]] = []
    for obj, where, line in days:
        try:
            when, found = day_rows(obj, where)
        except RowError as exc:
            fail(line, exc.field, exc.message, obj)
            continue
        for r in found:
            rows.append({**r, "day": when, "entity_type": entity, "org": org})
    if not rows:
        return
    start, end = min(r["day"] for r in rows), max(r["day"] for r in rows)
    scope = scope_of(entity, org)
    table = entity_table(rows, start=start, end=end, created_at=None, options=options)
    yield ParsedBatch(
        scope, {"copilot_entity_daily": table}, coverage=[Coverage(scope, start, end)]
    )
