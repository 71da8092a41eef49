"""A local OTLP/HTTP JSON receiver: the Codex CLI exports only over OTLP, this takes it in.

``codex-metrics ingest codex-otel --listen 127.0.0.1:4318`` listens for ``POST /v1/logs`` with
``Content-Type: application/json`` (Codex: ``protocol = "json"``; binary protobuf is refused
with 415 and a message saying so). Each request body is appended, as one line, to a spool file
under ``<lake>/.codex-metrics/spool/``; every ``flush_seconds`` (and on shutdown) the spool is
rotated and ingested like any ``codex-otel`` file: validated, committed, archived, recorded in
``source_runs``. Traces and metrics posts are acknowledged and dropped. A request a parser
would reject is refused with 400 at once, so one bad client cannot block a flush.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from codex_metrics.errors import CodexMetricsError
from codex_metrics.lake import Lake
from codex_metrics.telemetry.ingest._records import IngestOptions, utc_now
from codex_metrics.telemetry.ingest.pipeline import IngestReport, ingest_file

__all__ = ["OtlpReceiver", "parse_listen"]

SPOOL_DIR = "spool"
_MAX_BODY = 64 << 20


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` of ``--listen``.

    Raises:
        ValueError: not ``HOST:PORT``.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:4318)")
    return host.strip("[]"), int(port)


@dataclass
class _State:
    spool: Path
    lock: threading.Lock
    received: int = 0
    records: int = 0


class OtlpReceiver:
    """An OTLP/HTTP JSON logs endpoint that ingests what it receives, in batches.

    Args:
        lake: the lake to write to.
        options: parser options (pseudonymiser, scope).
        host: address to bind (keep it local: 127.0.0.1).
        port: port (0: any free port; see :attr:`port`).
        flush_seconds: how often the spool is ingested.
        on_report: called with each flush's report (the CLI prints a line).
        on_error: called with a flush's error (the spool file is kept for a retry).
    """

    def __init__(
        self,
        lake: Lake,
        options: IngestOptions,
        *,
        host: str = "127.0.0.1",
        port: int = 4318,
        flush_seconds: float = 60.0,
        on_report: Callable[[IngestReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.lake, self.options = lake, options
        self.flush_seconds = flush_seconds
        self.on_report, self.on_error = on_report, on_error
        folder = lake.hidden_dir / SPOOL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.state = _State(self._new_spool(folder), threading.Lock())
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._stop = threading.Event()

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.server.server_address[1])

    @staticmethod
    def _new_spool(folder: Path) -> Path:
        return folder / f"otlp-{utc_now().strftime('%Y%m%dT%H%M%S%f')}.ndjson"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the CLI reports flushes, not requests."""

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                """Accept ``/v1/logs`` JSON; acknowledge traces and metrics."""
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._answer(413, {"error": "body larger than 64 MiB"})
                    return
                body = self.rfile.read(length)
                if self.path.rstrip("/") in ("/v1/traces", "/v1/metrics"):
                    self._answer(200, {})
                    return
                if self.path.rstrip("/") != "/v1/logs":
                    self._answer(404, {"error": "POST OTLP logs to /v1/logs"})
                    return
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if kind != "application/json":
                    self._answer(415, {"error": 'send OTLP/HTTP JSON: set protocol = "json"'})
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                try:
                    doc = json.loads(body)
                    if not isinstance(doc, dict) or "resourceLogs" not in doc:
                        raise ValueError("no resourceLogs")
                except ValueError as exc:
                    self._answer(400, {"error": f"not an OTLP/JSON logs request ({exc})"})
                    return
                receiver.append(doc)
                self._answer(200, {})

        return Handler

    def append(self, doc: dict[str, Any]) -> None:
        """Add one export request to the spool."""
        records = sum(
            len(sl.get("logRecords") or [])
            for rl in doc.get("resourceLogs") or []
            for sl in (rl or {}).get("scopeLogs") or []
        )
        line = json.dumps(doc, separators=(",", ":")) + "\n"
        with self.state.lock:
            with self.state.spool.open("a", encoding="utf-8") as fh:
                fh.write(line)
            self.state.received += 1
            self.state.records += records

    def flush(self) -> IngestReport | None:
        """Ingest what the spool holds (``None`` when it is empty)."""
        with self.state.lock:
            spool = self.state.spool
            if not spool.exists() or self.state.received == 0:
                return None
            self.state.spool = self._new_spool(spool.parent)
            self.state.received = self.state.records = 0
        try:
            report = ingest_file(self.lake, spool, "codex-otel", self.options, fetched_at=utc_now())
        except CodexMetricsError as exc:
            if self.on_error:
                self.on_error(exc)
            return None
        spool.unlink(missing_ok=True)
        if self.on_report:
            self.on_report(report)
        return report

    def serve(self) -> None:
        """Serve until :meth:`stop` (or Ctrl-C), flushing every ``flush_seconds``."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            while not self._stop.wait(self.flush_seconds):
                self.flush()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.shutdown()
            self.server.server_close()
            self.flush()

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests); :meth:`stop` ends it."""
        thread = threading.Thread(target=self.serve, daemon=True)
        thread.start()
        time.sleep(0)
        return thread

    def stop(self) -> None:
        """Stop serving (the spool is flushed once more)."""
        self._stop.set()
