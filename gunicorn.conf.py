"""Production defaults for gunicorn; every value can be set from the environment.

The work is I/O-bound (waiting on Cognito), so a process serves every connection
from one greenlet each (the gevent worker): a request waiting on Cognito, or a
client sending slowly, costs a little memory, never a thread. Connections per
process are capped (WEB_CONNECTIONS); a client gets WEB_KEEPALIVE seconds to send
each request's headers and REQUEST_BODY_TIMEOUT seconds for its body.

One process also keeps the default in-memory cache (rate-limit counters)
correct; run more processes only with CACHE_URL set to a shared cache. See
docs/operations.md and docs/benchmarks.md (why gevent).
"""

import glob
import os
import resource
import shutil
import tempfile

bind = os.environ.get("BIND", "0.0.0.0:8000")
# gunicorn's gevent worker, made to stop without cutting anyone off (resetsite/worker.py).
worker_class = "resetsite.worker.Worker"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "2000"))
# Each connection is a file descriptor, and so is each connection to Cognito:
# lift the soft limit (often 1,024) as far as the hard limit allows.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_wanted = worker_connections + 512
if _soft != resource.RLIM_INFINITY and _soft < _wanted:
    _ceiling = _wanted if _hard == resource.RLIM_INFINITY else min(_wanted, _hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(_soft, _ceiling), _hard))
# Also the time a client has to send a request's headers (gunicorn's async workers).
keepalive = max(1, int(os.environ.get("WEB_KEEPALIVE", "5")))  # 0 would lift that bound
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
backlog = int(os.environ.get("WEB_BACKLOG", "1024"))
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("WEB_MAX_REQUESTS_JITTER", "0"))
limit_request_line = 8190
limit_request_fields = 64
limit_request_field_size = 8190
control_socket_disable = True
worker_tmp_dir = os.environ.get(
    "WEB_TMP_DIR",
    "/dev/shm" if os.path.isdir("/dev/shm") else None,  # noqa: S108 - tmpfs heartbeat
)
forwarded_allow_ips = ""  # trust decisions are the app's own (TRUSTED_PROXIES)
proxy_allow_ips = ""

# "-": standard output; a path: that file; empty: off. gunicorn itself would log
# access lines whenever logconfig_dict is set, so the switch is applied twice:
# here (no handler) and in JsonAccessLogger (which then builds no record at all).
_access_log = os.environ.get("WEB_ACCESS_LOG", "-").strip()
accesslog = _access_log or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "resetsite.gunicorn_logging.JsonAccessLogger"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "accounts.logs.JsonFormatter"},
        "raw": {"format": "%(message)s"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "access": (
            {"class": "logging.StreamHandler", "formatter": "raw", "stream": "ext://sys.stdout"}
            if _access_log in ("", "-")
            # WatchedFileHandler reopens the file after logrotate moves it.
            else {
                "class": "logging.handlers.WatchedFileHandler",
                "formatter": "raw",
                "filename": _access_log,
            }
        ),
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {
            "handlers": ["access"] if _access_log else [],
            "level": "INFO",
            "propagate": False,
        },
    },
}


# --- metrics from every worker (accounts/metrics.py) ------------------------------
# prometheus-client's multiprocess mode: each worker writes its values to files
# in PROMETHEUS_MULTIPROC_DIR and a scrape of any worker adds them all up. Set
# here, before any worker starts, so that every worker runs in that mode; by
# default a fresh private directory beside the heartbeat files, removed at exit.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = tempfile.mkdtemp(prefix="resetsite-metrics-", dir=worker_tmp_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def on_starting(server):
    # Values left by an earlier run would be added to this one's.
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(stale)


def post_fork(server, worker):
    # A SIGTERM while the worker boots must stop it, not be lost (resetsite/worker.py).
    from resetsite.worker import catch_early_stop

    catch_early_stop(server, worker)


def child_exit(server, worker):
    # A dead worker's gauges (calls in flight, breaker state) must stop counting.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    import gc

    gc.freeze()  # exiting: nothing to collect (see resetsite/worker.py)
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
