"""Quality: acceptance over time and by language, persistence, edits, failures, eval pass@k."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_bar, rows_share, rows_time_series
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.data import eval_details, eval_runs, rows_csv
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, missing_data


def render() -> None:
    """Acceptance (count and lines, completions and all features), persistence, failures, evals."""
    ctx = context()
    f = ctx.filters
    st.title("Quality")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    rows = []
    for name, label in (
        ("acceptance_rate_rolling_7d", "all features, by count (rolling 7 days)"),
        ("completion_acceptance_rate_by_count", "completions only, by count"),
        ("acceptance_rate_by_lines", "all features, by lines"),
    ):
        doc = series(ctx, name)
        rows += [{**r, "series": label} for r in doc.get("rows", [])]
    chart_block(
        title="Acceptance rate over time", metric="acceptance_rate_by_count",
        doc={"rows": rows, "csv": rows_csv(rows)},
        figure=rows_time_series(rows, title="Acceptance rate", unit="ratio", by="series"),
        caption="Σ accepted / Σ shown, by count and by lines; completion-only and all features "
        "are labelled (GitHub's dashboards show completions only).",
        key="acceptance_over_time", filters=f,
    )  # fmt: skip
    by_lang = series(ctx, "acceptance_rate_by_count", grain="all", by=("language",))
    chart_block(
        title="Acceptance by language", metric="acceptance_rate_by_count", doc=by_lang,
        figure=rows_bar(by_lang.get("rows", []), title="Acceptance by language",
                         category="language", unit="ratio"),
        caption="Acceptance rate by count per language over the window.",
        key="acceptance_by_language", filters=f,
    )  # fmt: skip
    shown = series(ctx, "suggestions_shown", grain="all", by=("language",))
    chart_block(
        title="Suggestions shown by language", metric="suggestions_shown", doc=shown,
        figure=rows_share(shown.get("rows", []), title="Suggestions by language", category="language"),
        caption="Each language's share of the suggestions shown.", key="shown_by_language",
        filters=f,
    )  # fmt: skip
    rows = []
    for name in ("persistence_rate_30s", "persistence_rate_2m", "persistence_rate_5m",
                 "persistence_rate_10m"):  # fmt: skip
        doc = series(ctx, name, grain="week")
        rows += [{**r, "after": name.rsplit("_", 1)[1]} for r in doc.get("rows", [])]
    chart_block(
        title="Persistence of accepted code", metric="persistence_rate_10m",
        doc={"rows": rows, "csv": rows_csv(rows)},
        figure=rows_time_series(rows, title="Accepted characters still present", unit="ratio", by="after"),
        caption="Share of accepted characters still in the code 30 s, 2, 5 and 10 minutes later.",
        key="persistence", filters=f,
    )  # fmt: skip
    edits = series(ctx, "edit_distance_mean")
    chart_block(
        title="Edits after acceptance", metric="edit_distance_mean", doc=edits,
        figure=rows_time_series(edits.get("rows", []), title="Mean edit distance", unit="characters"),
        caption="Levenshtein distance between accepted text and the code 10 minutes later.",
        key="edit_distance", filters=f,
    )  # fmt: skip
    modes = series(ctx, "failure_mode_share", grain="all")
    chart_block(
        title="Failure modes", metric="failure_mode_share", doc=modes,
        figure=rows_share(modes.get("rows", []), title="Requests by failure mode",
                           category=_category(modes)),
        caption="Share of requests in each failure-mode category over the window.",
        key="failure_modes", filters=f,
    )  # fmt: skip
    _evals(ctx)


def _category(doc: dict) -> str:
    rows = doc.get("rows", [])
    keys = [k for k in (rows[0] if rows else {}) if k not in ("period", "value", "numerator",
                                                             "denominator", "null_reason", "n")]  # fmt: skip
    return keys[0] if keys else "category"


def _evals(ctx) -> None:  # type: ignore[no-untyped-def]
    st.header("Offline evaluation")
    runs = eval_runs(ctx.state)
    if not runs:
        missing_data("eval")
        return
    labels = {r["run_id"]: f"{r['model_version']} ({r['run_id']})" for r in runs}
    chosen = st.multiselect("Evaluation runs", list(labels), default=list(labels)[-2:],
                            format_func=lambda r: labels[r], key="eval_runs")  # fmt: skip
    if not chosen:
        return
    details = eval_details(ctx.state, chosen)
    ones = [{**r, "run": labels[r["run"]]} for r in details["pass_at_k"] if r["k"] == 1]
    chart_block(
        title="pass@1 per run with 95% interval", metric="eval_pass_rate",
        doc={"rows": ones, "csv": rows_csv(details["pass_at_k"])},
        figure=rows_bar(ones, title="pass@1 (unbiased estimator)", category="run",
                         unit="ratio", low="low", high="high"),
        caption="Mean over tasks of the unbiased pass@k; whiskers: 95% bootstrap over tasks. "
        "The CSV holds every k the runs allow.",
        key="eval_pass_at_1",
    )  # fmt: skip
    outcomes = [{**r, "run": labels[r["run"]]} for r in details["outcomes"]]
    chart_block(
        title="Error categories", metric="eval_pass_rate",
        doc={"rows": outcomes, "csv": rows_csv(outcomes)},
        figure=rows_bar(outcomes, title="Share of samples per outcome", category="outcome",
                         unit="ratio", by="run"),
        caption="Outcome of every sample (passed, assertion failure, timeout, ...) per run.",
        key="eval_outcomes",
    )  # fmt: skip
    comparison = details["comparison"]
    if comparison and comparison.get("status") == "ok":
        st.subheader(
            "Flipped tasks between the last two runs",
            help="Tasks whose pass rate went from 0 to >0 (to pass) or back (to fail).",
        )
        st.write(
            f"{comparison['model_b']} vs {comparison['model_a']}: pass-rate difference "
            f"{100 * (comparison['mean_difference'] or 0):+.1f} points "
            f"[{100 * (comparison['ci_low'] or 0):+.1f}, {100 * (comparison['ci_high'] or 0):+.1f}]"
        )
        st.dataframe(
            [{"flipped to pass": ", ".join(comparison["flipped_to_pass"]) or "none",
              "flipped to fail": ", ".join(comparison["flipped_to_fail"]) or "none"}],
            hide_index=True, width="stretch",
        )  # fmt: skip
