"""The site with every Cognito call made in a pool of real threads.

For the benchmark's comparison only (resetsite/nohubpoll.py). The request's
greenlet waits for the thread; the thread blocks on the socket. A gevent socket
belongs to the thread that made it, so each thread has a client of its own, with
the settings of the site's.
"""

from typing import Any

import boto3
from botocore.client import BaseClient
from gevent import monkey
from gevent.threadpool import ThreadPool

from resetsite.wsgi import application

THREADS = 32  # as many as the connections of the benchmark's x32 rows
_pool = ThreadPool(THREADS)
_send = BaseClient._make_api_call  # type: ignore[attr-defined]
_thread_id = monkey.get_original("threading", "get_ident")
_lock = monkey.get_original("threading", "Lock")()
_clients: dict[tuple[int, int], BaseClient] = {}


def _in_a_thread(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
    key = (_thread_id(), id(client))  # the site's public client, or its signed one
    meta = client.meta
    with _lock:
        if key not in _clients:
            where = {"region_name": meta.region_name, "endpoint_url": meta.endpoint_url}
            _clients[key] = boto3.client("cognito-idp", config=meta.config, **where)  # type: ignore[call-overload]
    try:
        return _send(_clients[key], operation, params), None
    except Exception as exc:  # raised in the request's greenlet (the pool would log it)
        return None, exc


def _make_api_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
    result, error = _pool.apply(_in_a_thread, (self, operation, params))
    if error is not None:
        raise error
    return result


BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]

__all__ = ["application"]
