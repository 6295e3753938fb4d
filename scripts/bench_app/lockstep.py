"""The site as it was: urllib3's dropped-connection check on gevent's own poll.

For the benchmark's comparison only (resetsite/nohubpoll.py): that poll yields to
the hub before every Cognito call, even with a zero timeout.
"""

from urllib3.util import wait

from resetsite.wsgi import application

wait.wait_for_socket = wait.poll_wait_for_socket  # undo nohubpoll.install()

__all__ = ["application"]
