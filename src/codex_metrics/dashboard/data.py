"""Cached loaders: every number the dashboard shows, from library calls, keyed on the snapshot.

A render resolves the lake's snapshot once (:func:`snapshot_for`); its ``key`` changes whenever a
commit lands, so new data shows up on the next render without a restart and unchanged data is
never recomputed. Loaders return plain data (result envelopes as dicts, rows as lists), never
connections, so Streamlit can cache them. No SQL and no statistics here: only library calls.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from codex_metrics.errors import CodexMetricsError

__all__ = [
    "Kpi",
    "LakeState",
    "analysis_results",
    "collect_repository_now",
    "eval_details",
    "eval_runs",
    "experiment_report",
    "experiments",
    "freshness",
    "kpi",
    "latency_kpi",
    "latency_percentiles",
    "latest_eval_kpi",
    "metric",
    "milestones",
    "open_alerts",
    "per_user_activity",
    "rows_csv",
    "snapshot_for",
    "source_runs",
]

_cached = st.cache_data(max_entries=512, show_spinner=False)


def _freeze(filters: dict[str, list[str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Filters as a hashable, order-free cache key."""
    return tuple(sorted((d, tuple(v)) for d, v in (filters or {}).items()))


@dataclass(frozen=True)
class LakeState:
    """What a render reads: the lake, the pinned snapshot's key, the source selection."""

    root: str
    key: str
    sources: str | None
    versions: dict[str, int] = field(default_factory=dict)
    sources_read: tuple[str, ...] = ()
    selection: str = ""
    first_day: date | None = None
    last_day: date | None = None
    has_data: bool = False


def snapshot_for(root: str, sources: str | None) -> LakeState:
    """Resolve the snapshot now (cheap: the logs only) and describe it."""
    from codex_metrics.lake import Lake

    lake = Lake.open(Path(root), create=False)
    snap = lake.snapshot(sources=sources)
    _reader(root, snap.key, sources, _snapshot=snap)  # the readers reuse this snapshot
    days = sorted(snap.days("suggestions") | snap.days("usage_daily"))
    return LakeState(
        root=root,
        key=snap.key,
        sources=sources,
        versions=snap.versions,
        sources_read=tuple(snap.sources_read()),
        selection=snap.sources.describe(),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
        has_data=any(t.files for t in snap.tables.values()),
    )


def _snapshot(state: LakeState) -> Any:
    return _reader(state.root, state.key, state.sources)[0]


@st.cache_resource(max_entries=4, show_spinner=False)
def _reader(
    root: str, key: str, sources: str | None, _snapshot: Any = None
) -> tuple[Any, Any, threading.Lock]:
    """One snapshot and one DuckDB engine per lake snapshot, shared by every render.

    DuckDB connections are not safe for concurrent use, so sessions take turns (the lock);
    queries are short and cached above. ``_snapshot`` (not part of the cache key) is the
    snapshot of ``key`` when the caller has just opened it.
    """
    from codex_metrics.lake import Lake
    from codex_metrics.metrics import open_engine

    snapshot = _snapshot
    if snapshot is None or snapshot.key != key:
        snapshot = Lake.open(Path(root), create=False).snapshot(sources=sources)
    return snapshot, open_engine(snapshot, "duckdb"), threading.Lock()


@_cached
def _metric(
    root: str,
    key: str,
    sources: str | None,
    name: str,
    since: date | None,
    until: date | None,
    grain: str,
    by: tuple[str, ...],
    filters: tuple[tuple[str, tuple[str, ...]], ...],
    exclude_weekends: bool = False,
) -> dict[str, Any]:
    from codex_metrics.config import load_settings
    from codex_metrics.metrics import compute_metric
    from codex_metrics.metrics.slices import default_group_size

    snapshot, engine, lock = _reader(root, key, sources)
    group = default_group_size(snapshot, name, load_settings().min_group_size)
    with lock:
        result = compute_metric(
            name,
            snapshot,
            since=since,
            until=until,
            grain=grain,
            by=list(by),
            filters={d: list(v) for d, v in filters},
            engine=engine,
            exclude_weekends=exclude_weekends,
            min_group_size=group,
        )
    doc = result.to_dict()
    doc["csv"] = result.to_csv()
    return doc


def metric(
    state: LakeState,
    name: str,
    *,
    since: date | None = None,
    until: date | None = None,
    grain: str = "day",
    by: tuple[str, ...] = (),
    filters: dict[str, list[str]] | None = None,
    exclude_weekends: bool = False,
) -> dict[str, Any]:
    """A metric's result envelope (``rows``, ``gaps``, ``metadata``, ``csv``), cached.

    A metric that cannot be sliced as asked comes back with ``status="unavailable"`` and the
    reason, never an exception in the page.
    """
    frozen = _freeze(filters)
    try:
        return _metric(
            state.root, state.key, state.sources, name, since, until, grain, by, frozen,
            exclude_weekends,
        )  # fmt: skip
    except CodexMetricsError as exc:
        return {"status": "unavailable", "reason": str(exc), "rows": [], "gaps": [], "csv": ""}


@dataclass(frozen=True)
class Kpi:
    """A headline number with its previous-period value and a daily sparkline."""

    name: str
    value: float | None
    previous: float | None
    spark: list[float]
    reason: str | None = None
    note: str | None = None

    @property
    def delta(self) -> float | None:
        """Change against the previous period of the same length."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def _single(doc: dict[str, Any]) -> float | None:
    values = [r["value"] for r in doc.get("rows", []) if r.get("value") is not None]
    return float(values[0]) if len(values) == 1 else None


def kpi(
    state: LakeState,
    name: str,
    *,
    since: date,
    until: date,
    filters: dict[str, list[str]] | None = None,
    exclude_weekends: bool = False,
) -> Kpi:
    """``name`` over [since, until] (grain all), the same over the period before, and daily."""
    length = (until - since).days + 1
    common: dict[str, Any] = {"filters": filters, "exclude_weekends": exclude_weekends}
    now = metric(state, name, since=since, until=until, grain="all", **common)
    before = metric(
        state,
        name,
        since=since - timedelta(days=length),
        until=since - timedelta(days=1),
        grain="all",
        **common,
    )
    daily = metric(state, name, since=since, until=until, grain="day", **common)
    spark = [float(r["value"]) for r in daily.get("rows", []) if r.get("value") is not None]
    reason = now.get("reason") if _single(now) is None else None
    return Kpi(name, _single(now), _single(before), spark, reason)


@_cached
def _experiments(root: str, key: str, sources: str | None) -> list[dict[str, Any]]:
    from codex_metrics.experiments import list_experiments

    return [
        d.to_dict() for d in list_experiments(_snapshot(LakeState(root, key, sources)).connect())
    ]


def experiments(state: LakeState) -> list[dict[str, Any]]:
    """Every experiment in the lake (newest first)."""
    return _experiments(state.root, state.key, state.sources)


@_cached
def _report(root: str, key: str, sources: str | None, experiment_id: str) -> dict[str, Any]:
    from codex_metrics.experiments import analyze_experiment, report_to_dict

    # The report prefetches into its connection: give it one of its own.
    con = _snapshot(LakeState(root, key, sources)).connect()
    return report_to_dict(analyze_experiment(con, experiment_id))


def experiment_report(state: LakeState, experiment_id: str) -> dict[str, Any]:
    """The experiment report as JSON-ready data (the same as ``ab analyze --format json``)."""
    return _report(state.root, state.key, state.sources, experiment_id)


@_cached
def _eval_runs(root: str, key: str) -> list[dict[str, Any]]:
    from codex_metrics.evaluation import runs_from_lake

    return runs_from_lake(Path(root))


def eval_runs(state: LakeState) -> list[dict[str, Any]]:
    """One row per evaluation run stored in the lake."""
    return _eval_runs(state.root, state.key)


def latest_eval_kpi(state: LakeState) -> Kpi:
    """pass@1 of the newest evaluation run that is not a reference run, against the one before.

    Evaluation runs are not daily telemetry: when none ran inside the window, the Overview shows
    the newest run (its model named in the help text) rather than nothing. Reference runs
    (canonical solutions, labelled "(reference)") are skipped: they pass by construction.
    """
    runs = [
        r for r in eval_runs(state)
        if r.get("pass_rate") is not None and "(reference)" not in str(r.get("model_version"))
    ]  # fmt: skip
    if not runs:
        return Kpi(
            "eval_pass_rate", None, None, [], "no evaluation run yet: codex-metrics eval run"
        )
    last = runs[-1]
    previous = float(runs[-2]["pass_rate"]) if len(runs) >= 2 else None
    return Kpi(
        "eval_pass_rate",
        float(last["pass_rate"]),
        previous,
        [float(r["pass_rate"]) for r in runs],
        note=f"newest run {last['run_id']} ({last['model_version']}), vs the run before",
    )


@_cached
def _eval_details(root: str, key: str, run_ids: tuple[str, ...]) -> dict[str, Any]:
    from codex_metrics.evaluation import compare_runs, run_from_lake
    from codex_metrics.evaluation.intervals import pass_at_k_intervals

    runs = [run_from_lake(Path(root), r) for r in run_ids]
    pass_rows = [
        {"run": r.run_id, "model": r.model_version, "k": p.k, "value": p.value,
         "low": p.ci_low, "high": p.ci_high, "tasks": p.tasks}
        for r in runs
        for p in pass_at_k_intervals(r)
    ]  # fmt: skip
    outcome_rows = [
        {"run": r.run_id, "model": r.model_version, "outcome": o, "samples": n,
         "value": n / max(1, len(r.records))}
        for r in runs
        for o, n in r.outcome_counts().items()
        if n
    ]  # fmt: skip
    comparison = compare_runs(runs[-2], runs[-1]).to_dict() if len(runs) >= 2 else None
    return {"pass_at_k": pass_rows, "outcomes": outcome_rows, "comparison": comparison}


def eval_details(state: LakeState, run_ids: list[str]) -> dict[str, Any]:
    """pass@k with task-bootstrap intervals, outcome shares, and the comparison of the last two."""
    return _eval_details(state.root, state.key, tuple(run_ids))


@_cached
def _milestones(
    root: str, key: str, sources: str | None, since: date, until: date
) -> list[dict[str, Any]]:
    from codex_metrics.alerts import list_annotations

    snapshot = _reader(root, key, sources)[0]
    return list_annotations(snapshot, since=since, until=until)


def milestones(state: LakeState, since: date, until: date) -> list[dict[str, Any]]:
    """Annotations in the window (deploys, releases, rollouts, experiment starts)."""
    return _milestones(state.root, state.key, state.sources, since, until)


@_cached
def _freshness(root: str, key: str) -> list[dict[str, Any]]:
    from codex_metrics.lake import Lake

    lake = Lake.open(Path(root), create=False)
    return [i.to_dict() for i in lake.info()]


def freshness(state: LakeState) -> list[dict[str, Any]]:
    """Per table: version, files, rows, days and last update per source."""
    return _freshness(state.root, state.key)


@_cached
def _source_runs(root: str, key: str) -> list[dict[str, Any]]:
    from codex_metrics.lake import Lake, source_freshness

    return source_freshness(Lake.open(Path(root), create=False).snapshot(sources="all"))


def source_runs(state: LakeState) -> list[dict[str, Any]]:
    """Per source and scope: last successful update, last error, rows (ingest and collect)."""
    return _source_runs(state.root, state.key)


@_cached
def _per_user(
    root: str, key: str, sources: str | None, logins: tuple[str, ...], since: date, until: date
) -> list[dict[str, Any]]:
    from codex_metrics.config import load_settings
    from codex_metrics.metrics import developer_sums
    from codex_metrics.privacy import Pseudonymiser

    snapshot, engine, lock = _reader(root, key, sources)
    settings = load_settings()
    pseudonym, _ = Pseudonymiser.for_lake(settings, snapshot.lake.hidden_dir, save=False)
    wanted = {pseudonym(login): login for login in logins}
    with lock:
        sums = developer_sums(
            engine,
            "usage_completion_acceptance_rate_by_count",
            start=since,
            end=until + timedelta(days=1),
        )
    table = sums if isinstance(sums, pa.Table) else sums.arrow()
    found = {r["developer_id"]: r for r in table.to_pylist() if r["developer_id"] in wanted}
    rows = []
    for dev, login in sorted(wanted.items(), key=lambda kv: kv[1]):
        r = found.get(dev)
        shown, accepted = (r["denominator"], r["numerator"]) if r else (0.0, 0.0)
        rows.append(
            {
                "login": login,
                "completions_shown": shown,
                "completions_accepted": accepted,
                "acceptance_rate": accepted / shown if shown else None,
            }
        )
    return rows


def per_user_activity(
    state: LakeState, logins: list[str], since: date, until: date
) -> list[dict[str, Any]]:
    """Completions shown and accepted in the window, per opted-in login (found by its pseudonym).

    The caller decides who may see this (the config's opt-in and viewer allow-list); a login
    with no activity in the window is listed with zeros.
    """
    return _per_user(state.root, state.key, state.sources, tuple(sorted(logins)), since, until)


def collect_repository_now(state: LakeState, repo: str) -> dict[str, str]:
    """Run the GitHub collector for ``repo`` into the lake (the caller checked permissions).

    Uses the configured credentials, API URL and request budget, exactly as ``codex-metrics
    collect github REPO``; returns ``status`` (ok, partial or error) and a message for the page.
    New rows change the lake's snapshot, so every cached chart reads them on the next render.
    """
    from codex_metrics.collectors import collect_github, open_collector
    from codex_metrics.config import load_settings
    from codex_metrics.lake import Lake

    try:
        collector = open_collector(Lake.open(Path(state.root), create=False), load_settings())
        try:
            (result,) = collect_github(
                collector.lake,
                collector.github(owner=repo.split("/")[0]),
                [repo],
                pseudonym=collector.pseudonymise,
                invocation_id=collector.invocation_id,
            )
        finally:
            collector.close()
    except CodexMetricsError as exc:
        return {"status": "error", "message": f"{repo}: {exc}"}
    if result.status == "error":
        return {"status": "error", "message": f"{repo}: {result.message}"}
    rows = ", ".join(f"{t} {n:,}" for t, n in result.rows.items() if n) or "no new rows"
    note = f" ({result.message})" if result.message else ""
    return {"status": result.status, "message": f"{repo}: {rows}{note}"}


@_cached
def _latency(
    root: str,
    key: str,
    sources: str | None,
    since: date | None,
    until: date | None,
    by: tuple[str, ...],
    filters: tuple[tuple[str, tuple[str, ...]], ...],
    exclude_weekends: bool,
    histograms: bool = False,
) -> Any:
    from codex_metrics.metrics.quantiles import daily_latency_quantiles

    _, engine, lock = _reader(root, key, sources)
    with lock:
        table = daily_latency_quantiles(
            engine.snapshot, since=since, until=until, by=list(by),
            filters={d: list(v) for d, v in filters}, exclude_weekends=exclude_weekends,
            levels=None if histograms else (0.5, 0.9, 0.99), engine=engine,
        )  # fmt: skip
    return table if histograms else list(table.to_pylist())


def latency_percentiles(
    state: LakeState,
    *,
    since: date,
    until: date,
    by: tuple[str, ...] = (),
    filters: dict[str, list[str]] | None = None,
    exclude_weekends: bool = False,
) -> dict[int, dict[str, Any]]:
    """P50, P90 and P99 per day (and ``by``) from the daily latency histograms (within 1%).

    One grouped sum over ``latency_histograms_daily`` serves the three charts, at any scale;
    each level comes back as a result-like document (``rows`` with ``period`` and ``value``,
    and its ``csv``) for :func:`~codex_metrics.dashboard.widgets.chart_block`.
    """
    frozen = _freeze(filters)
    try:
        rows = _latency(state.root, state.key, state.sources, since, until, tuple(by), frozen,
                        exclude_weekends)  # fmt: skip
    except CodexMetricsError as exc:
        doc = {"status": "unavailable", "reason": str(exc), "rows": [], "gaps": [], "csv": ""}
        return {p: doc for p in (50, 90, 99)}
    out = {}
    for p in (50, 90, 99):
        level = [
            {"period": r["day"], **{d: r[d] for d in by}, "value": r[f"p{p}"],
             "requests": r["requests"], "null_reason": None}
            for r in rows
        ]  # fmt: skip
        out[p] = {"status": "ok" if level else "empty", "rows": level, "csv": rows_csv(level)}
    return out


def latency_kpi(
    state: LakeState,
    *,
    since: date,
    until: date,
    filters: dict[str, list[str]] | None = None,
    exclude_weekends: bool = False,
) -> Kpi:
    """P90 latency over the window and the one before, with a daily sparkline (histograms)."""
    from codex_metrics.metrics.quantiles import histogram_quantiles

    frozen = _freeze(filters)
    start = since - timedelta(days=(until - since).days + 1)
    try:  # one query: the daily histograms of both windows, summed here per window
        hist = _latency(state.root, state.key, state.sources, start, until, (), frozen,
                        exclude_weekends, True)  # fmt: skip
    except CodexMetricsError as exc:
        return Kpi("latency_p90_ms", None, None, [], str(exc))
    days = hist.column("day")

    def whole(lo: date, hi: date) -> float | None:
        part = hist.filter(pc.and_(pc.greater_equal(days, lo), pc.less_equal(days, hi)))
        rows = histogram_quantiles(part, (0.9,), by=()).to_pylist() if part.num_rows else []
        return float(rows[0]["p90"]) if rows and rows[0]["requests"] else None

    now = whole(since, until)
    before = whole(start, since - timedelta(days=1))
    current = hist.filter(pc.greater_equal(days, since))
    daily = (
        histogram_quantiles(current, (0.9,), by=("day",)).to_pylist() if current.num_rows else []
    )
    spark = [float(r["p90"]) for r in sorted(daily, key=lambda r: r["day"]) if r["requests"]]
    reason = None if now is not None else "no requests with a latency in this window"
    return Kpi("latency_p90_ms", now, before, spark, reason, note="from the daily histograms")


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV: header from the first row, newline line ends as the result envelope's."""
    import csv
    import io

    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


@_cached
def _analysis(root: str, key: str, sources: str | None) -> list[dict[str, Any]]:
    from codex_metrics.analysis import latest_results

    return latest_results(_reader(root, key, sources)[0])


def analysis_results(state: LakeState) -> list[dict[str, Any]]:
    """The estimates of the newest ``codex-metrics productivity`` run (none: empty)."""
    try:
        return _analysis(state.root, state.key, state.sources)
    except CodexMetricsError:
        return []


@_cached
def _open_alerts(root: str, key: str, sources: str | None) -> list[dict[str, Any]]:
    from codex_metrics.alerts import open_alerts as alerts_open

    return alerts_open(_reader(root, key, sources)[0])


def open_alerts(state: LakeState) -> list[dict[str, Any]]:
    """Alerts fired by ``codex-metrics alerts check`` and not resolved, newest first."""
    try:
        return _open_alerts(state.root, state.key, state.sources)
    except CodexMetricsError:
        return []
