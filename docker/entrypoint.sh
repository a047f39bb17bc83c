#!/bin/sh
# web: migrate, then gunicorn.  worker / beat: Celery.  Anything else runs as given (manage.py ...).
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn metrics.wsgi:application --bind 0.0.0.0:8000 \
      --workers "${GUNICORN_WORKERS:-3}" --threads "${GUNICORN_THREADS:-4}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" --access-logfile - --forwarded-allow-ips '*'
    ;;
  worker)
    exec celery -A metrics worker --loglevel "${LOG_LEVEL:-INFO}" \
      --queues "${CELERY_QUEUES:-default,sync,reports}" --concurrency "${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A metrics beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  *)
    exec "$@"
    ;;
esac
