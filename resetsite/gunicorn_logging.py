"""gunicorn's access log in the same JSON shape as the application's log."""

from __future__ import annotations

import datetime
import json
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):  # type: ignore[misc]
    @property
    def access_log_enabled(self) -> bool:
        # gunicorn counts any logconfig_dict as "enabled"; the switch is accesslog alone.
        return bool(self.cfg.accesslog)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        request_id = "-"
        for name, value in resp.headers:
            if name.lower() == "x-request-id":
                request_id = value
        record = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "level": "info",
            "logger": "gunicorn.access",
            "event": "http_request",
            "request_id": request_id,
            "method": environ.get("REQUEST_METHOD"),
            # PATH_INFO only: the query of an emailed link carries the code.
            "path": environ.get("PATH_INFO"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.seconds * 1000 + request_time.microseconds / 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:256],
        }
        self.access_log.info(json.dumps(record, ensure_ascii=False))
