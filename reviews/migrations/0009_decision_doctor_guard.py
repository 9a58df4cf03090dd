"""Every decision is made by a verified doctor, checked by the database itself (#8).

A trigger on `reviews_decision` refuses a row unless its doctor is an active user with the
`doctor` role and a DoctorProfile (a licence) in the hospital of the decision's case. So no
API client, hospital admin, background task or stray script can write a decision, whatever
path it takes past `reviews.services`.

On UPDATE the rule is checked only when the doctor or the case changes: a decision stays
valid history after its doctor is deactivated, and editing another column of it must not
re-judge who made it.

On SQLite the same rule is a pair of triggers that reviews/decision_guard.py puts in place
after every `migrate` once this migration is applied (and takes out before the next one, so
that Django's table remakes in later migrations do not trip over them); nothing to do here.

No row lock is taken on the doctor: `staff_deactivate` locks the user and then the cases it
moves, while a decision locks its case first; locking the user here would let the two
deadlock. A deactivation that commits while a decision is in flight simply comes after it.
"""

from django.db import migrations

GUARD_MESSAGE = "decision must be made by an active doctor of the case's hospital"
_GUARD_MESSAGE_SQL = GUARD_MESSAGE.replace("'", "''")  # inside a quoted SQL literal

POSTGRESQL_GUARD_SQL = f"""
CREATE OR REPLACE FUNCTION reviews_decision_doctor_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
            AND NEW.doctor_id IS NOT DISTINCT FROM OLD.doctor_id
            AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1
        FROM reviews_case c
        JOIN accounts_doctorprofile p ON p.hospital_id = c.hospital_id
        JOIN accounts_user u ON u.id = p.user_id
        WHERE c.id = NEW.case_id
          AND p.user_id = NEW.doctor_id
          AND u.is_active
          AND u.role = 'doctor'
    ) THEN
        RAISE EXCEPTION 'case %: {_GUARD_MESSAGE_SQL} (user %)', NEW.case_id, NEW.doctor_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reviews_decision_doctor_guard
    BEFORE INSERT OR UPDATE ON reviews_decision
    FOR EACH ROW EXECUTE FUNCTION reviews_decision_doctor_guard();
"""

POSTGRESQL_DROP_SQL = """
DROP TRIGGER IF EXISTS reviews_decision_doctor_guard ON reviews_decision;
DROP FUNCTION IF EXISTS reviews_decision_doctor_guard();
"""


def add_doctor_guard(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Earlier data migrations in the same run may leave deferred foreign-key checks queued;
        # PostgreSQL will not create a trigger on a table with pending trigger events.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # params=None: the RAISE format's % placeholders are PostgreSQL's, not the driver's.
        schema_editor.execute(POSTGRESQL_GUARD_SQL, params=None)


def drop_doctor_guard(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_hospital_summary_lead_hours"),
        ("reviews", "0008_idempotency_record"),
    ]

    operations = [
        migrations.RunPython(add_doctor_guard, drop_doctor_guard),
    ]
