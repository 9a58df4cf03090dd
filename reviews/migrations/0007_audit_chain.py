"""The audit hash chain (reviews/audit.py) and, on PostgreSQL, the append-only trigger.

Existing events are chained per hospital in id order. The trigger refuses UPDATE and DELETE
on audit events row by row. It does not guard TRUNCATE: Django's `flush` (used between
transactional tests and by `manage.py flush`) empties tables with TRUNCATE, and a statement
trigger would break it; the application's role has no TRUNCATE privilege instead (README).
"""

import hashlib
import ipaddress
import json
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION reviews_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reviews_auditevent_append_only
    BEFORE UPDATE OR DELETE ON reviews_auditevent
    FOR EACH ROW EXECUTE FUNCTION reviews_auditevent_append_only();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS reviews_auditevent_append_only ON reviews_auditevent;
DROP FUNCTION IF EXISTS reviews_auditevent_append_only();
"""


def _canonical_json(event) -> str:
    # A frozen copy of reviews.audit.audit_canonical_json: a migration must not change when the app does.
    return json.dumps(
        {
            "hospital_id": event.hospital_id,
            "actor_type": str(event.actor_type),
            "actor_user_id": event.actor_user_id,
            "actor_api_client_id": event.actor_api_client_id,
            "action": event.action,
            "case_id": event.case_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "ip": str(ipaddress.ip_address(event.ip)) if event.ip else None,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def chain_existing_events(apps, schema_editor) -> None:
    AuditEvent = apps.get_model("reviews", "AuditEvent")
    AuditChainHead = apps.get_model("reviews", "AuditChainHead")
    Hospital = apps.get_model("accounts", "Hospital")
    for hospital_id in Hospital.objects.order_by("pk").values_list("pk", flat=True):
        last_hash, last_id, batch = "", None, []
        for event in AuditEvent.objects.filter(hospital_id=hospital_id).order_by("id").iterator(chunk_size=2000):
            event.prev_hash = last_hash
            event.hash = last_hash = hashlib.sha256((last_hash + _canonical_json(event)).encode()).hexdigest()
            last_id = event.pk
            batch.append(event)
            if len(batch) >= 2000:
                AuditEvent.objects.bulk_update(batch, ["prev_hash", "hash"])
                batch = []
        AuditEvent.objects.bulk_update(batch, ["prev_hash", "hash"])
        AuditChainHead.objects.create(hospital_id=hospital_id, last_event_id=last_id, last_hash=last_hash)


def add_append_only_trigger(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # The chained rows above may leave deferred foreign-key checks queued; PostgreSQL will
        # not create a trigger on a table with pending trigger events.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_append_only_trigger(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_hospital_summary_lead_hours"),
        ("reviews", "0006_case_escalation"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "hospital",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="audit_head",
                        serialize=False,
                        to="accounts.hospital",
                    ),
                ),
                ("last_event_id", models.BigIntegerField(blank=True, null=True)),
                ("last_hash", models.CharField(blank=True, default="", max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        # Chained before the trigger exists: filling in the hashes is itself an UPDATE.
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.RunPython(add_append_only_trigger, drop_append_only_trigger),
    ]
