"""The databases the tests use on the local Redis server (127.0.0.1:6379), one per purpose and in one
place, so that tests running at once on pytest-xdist's two workers never share one (several flush theirs)."""

REDIS = "redis://127.0.0.1:6379"

CHAT_WORKER = f"{REDIS}/2"  # tests/reports/test_chat_worker.py: broker, flushed
CACHE = f"{REDIS}/9"  # tests/core/test_cache.py: the cache backend, flushed
RECOMPUTE_QUEUE = f"{REDIS}/10"  # tests/ingestion/test_recompute_path.py: manage.py recompute --queue
ANALYTICS_QUEUE = f"{REDIS}/8"  # tests/ingestion/test_analytics_queue.py: broker, flushed
SYNC_WORKER = f"{REDIS}/11"  # tests/ingestion/test_worker.py: broker, flushed
REPORTS_WORKER = f"{REDIS}/12"  # tests/reports/test_worker.py: broker, flushed
LOAD_CACHE = f"{REDIS}/13"  # tests/ops/test_load.py: gunicorn's cache
DEPLOYMENT = f"{REDIS}/14"  # tests/ops/test_deployment_files.py: the production settings' cache and broker
SYNC_COMMANDS = f"{REDIS}/15"  # tests/ingestion/test_sync_commands.py: a broker nothing consumes
