"""gunicorn settings of the web process: ``gunicorn -c python:metrics.gunicorn_conf metrics.wsgi:application``
(docker/entrypoint.sh, and bench/load.py, which measures exactly this configuration).

Requests wait in the kernel's accept queue, in arrival order, not inside a worker: each worker takes a
connection only when one of its threads is free (``worker_connections = threads``) and closes it after the
response (``keepalive = 0``).  With keep-alive, a connection stays with the worker that first accepted it,
so under load one worker's clients queue behind each other while another worker idles; on the 1M-PR load
test that alone put p99 at 4.2 s where first-come-first-served gives 2.5 s at the same throughput.
Reverse proxies (nginx, Traefik, a cloud load balancer) open a connection per upstream request by default,
so nothing is lost behind them; a client talking to gunicorn directly opens a new local TCP connection per
request (well under a millisecond).

Environment: GUNICORN_WORKERS (default 3), GUNICORN_THREADS (default 4), GUNICORN_TIMEOUT (seconds,
default 60: a request running longer is aborted and its worker restarted).  Command-line options given
after ``-c`` override these (the load test binds its own port and log files).
"""

import os

wsgi_app = "metrics.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = threads
keepalive = 0
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
forwarded_allow_ips = "*"
# Access log lines without query strings or password-reset tokens (metrics/gunicorn_logging.py).
logger_class = "metrics.gunicorn_logging.RedactingLogger"
