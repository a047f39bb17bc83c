"""The load test's parts (bench/load.py runs them; tests/ops/test_load.py runs them small):
``mix`` what the clients request, ``driver`` the closed-loop clients and the report, ``server`` gunicorn,
sign-in and the database, ``cpu`` where the CPU went."""
