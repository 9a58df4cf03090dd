"""SQLite's copy of the database guard on decisions (migration 0009 has PostgreSQL's).

A decision row must name an active user with the doctor role who holds a licence
(DoctorProfile) in the hospital of the decision's case; SQLite aborts anything else, as
PostgreSQL's trigger does, so the demo and the SQLite test runs are protected too.

Why the triggers are dropped before every `migrate` and put back after it: Django changes a
table on SQLite by building a new one, dropping the old one and renaming the new one into
place. While the old table is gone, a trigger that reads it makes the rename fail ("error in
trigger …: no such table"), and a trigger on the dropped table itself would vanish silently.
"""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

GUARD_MIGRATION = ("reviews", "0009_decision_doctor_guard")
GUARD_MESSAGE = "decision must be made by an active doctor of the case''s hospital"  # a quoted SQL literal

_VERIFIED_DOCTOR = """
    SELECT 1
    FROM reviews_case c
    JOIN accounts_doctorprofile p ON p.hospital_id = c.hospital_id
    JOIN accounts_user u ON u.id = p.user_id
    WHERE c.id = NEW.case_id
      AND p.user_id = NEW.doctor_id
      AND u.is_active
      AND u.role = 'doctor'
"""

_CREATE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS reviews_decision_doctor_guard_insert
    BEFORE INSERT ON reviews_decision
    WHEN NOT EXISTS ({_VERIFIED_DOCTOR})
    BEGIN
        SELECT RAISE(ABORT, '{GUARD_MESSAGE}');
    END
    """,
    # Only when the doctor or the case changes: a deactivated doctor's decisions stay valid history.
    f"""
    CREATE TRIGGER IF NOT EXISTS reviews_decision_doctor_guard_update
    BEFORE UPDATE ON reviews_decision
    WHEN (NEW.doctor_id IS NOT OLD.doctor_id OR NEW.case_id IS NOT OLD.case_id)
        AND NOT EXISTS ({_VERIFIED_DOCTOR})
    BEGIN
        SELECT RAISE(ABORT, '{GUARD_MESSAGE}');
    END
    """,
]

_DROP = [
    "DROP TRIGGER IF EXISTS reviews_decision_doctor_guard_insert",
    "DROP TRIGGER IF EXISTS reviews_decision_doctor_guard_update",
]


def sqlite_decision_guard_install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in _CREATE:
            cursor.execute(statement)


def sqlite_decision_guard_remove(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in _DROP:
            cursor.execute(statement)


def decision_guard_before_migrate(*, using: str, **kwargs) -> None:
    """pre_migrate: take SQLite's triggers out of the way of the migrations about to run."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":
        sqlite_decision_guard_remove(connection)


def decision_guard_after_migrate(*, using: str, **kwargs) -> None:
    """post_migrate: put SQLite's triggers back if the database is at or past migration 0009."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    if GUARD_MIGRATION in MigrationRecorder(connection).applied_migrations():
        sqlite_decision_guard_install(connection)
