"""Targets, regression detection, alerts and the weekly digest; annotations charts share.

>>> from codex_metrics.alerts import parse_alert_config
>>> parse_alert_config({"targets": [{"metric": "latency_p90_ms", "kind": "threshold",
...                                  "max": 500}]}).targets[0].kind
'threshold'
"""

from codex_metrics.alerts.annotations import (
    ANNOTATE_SOURCE,
    Annotation,
    add_annotations,
    list_annotations,
)
from codex_metrics.alerts.check import CheckResult, detect_alerts, run_check
from codex_metrics.alerts.delivery import ALERT_ID_HEADER, deliver
from codex_metrics.alerts.detect import (
    STATUS_MESSAGES,
    Alert,
    DayPoint,
    SeriesStatus,
    bootstrap_log_quantile_se,
    developer_adjusted_difference,
    quantile_from_histogram,
    ratio_with_se,
)
from codex_metrics.alerts.digest import Digest, build_digest, send_digest
from codex_metrics.alerts.history import list_alerts, open_alerts
from codex_metrics.alerts.targets import (
    ALERT_METRICS,
    AlertConfig,
    Channel,
    Target,
    default_targets,
    parse_alert_config,
)

__all__ = [
    "ALERT_ID_HEADER",
    "ALERT_METRICS",
    "ANNOTATE_SOURCE",
    "STATUS_MESSAGES",
    "Alert",
    "AlertConfig",
    "Annotation",
    "Channel",
    "CheckResult",
    "DayPoint",
    "Digest",
    "SeriesStatus",
    "Target",
    "add_annotations",
    "bootstrap_log_quantile_se",
    "build_digest",
    "default_targets",
    "deliver",
    "detect_alerts",
    "developer_adjusted_difference",
    "list_alerts",
    "list_annotations",
    "open_alerts",
    "parse_alert_config",
    "quantile_from_histogram",
    "ratio_with_se",
    "run_check",
    "send_digest",
]
