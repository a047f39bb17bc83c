#!/bin/sh
# web: migrate, then gunicorn.  worker / beat: Celery.  Anything else runs as given (manage.py ...).
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    # Workers, threads, timeout and the queueing policy: metrics/gunicorn_conf.py (GUNICORN_* variables).
    exec gunicorn -c python:metrics.gunicorn_conf --bind 0.0.0.0:8000 --access-logfile -
    ;;
  worker)
    exec celery -A metrics worker --loglevel "${LOG_LEVEL:-INFO}" \
      --queues "${CELERY_QUEUES:-default,sync,analytics,analytics_models,reports}" --concurrency "${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A metrics beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  *)
    exec "$@"
    ;;
esac
