"""Loaded by pytest (`-p portal.test_env`) before Django's settings, so that a plain
`pytest` runs without a SECRET_KEY in the environment. DEBUG=1 here only picks the
dev defaults (plain static storage, no HTTPS redirect); Django's test runner still
runs the tests themselves with DEBUG off."""

import os

os.environ.setdefault("DEBUG", "1")
# Tasks run in-process in tests unless a test starts a real worker (tests/celery_worker.py).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
