"""The benchmark's baseline: the product settings plus one trivial view.

Never part of the site: `scripts/bench.py` runs a second gunicorn with
``DJANGO_SETTINGS_MODULE=bench_app.settings`` (``scripts/`` on ``PYTHONPATH``),
so the baseline view sees exactly the same middleware, settings and server.
"""
