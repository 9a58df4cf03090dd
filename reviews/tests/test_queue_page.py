"""What a doctor reads in each row of the queue page (reviews/queue_rows.py): the question's
preview, the due time in the page's time zone, the overdue and escalated badges, who holds a
claim, whose queue an escalated case is in, the last activity of a taken-over conversation,
all escaped once, in English and in Chinese."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from reviews.models import CaseEscalation, CaseStatus, Urgency

from .factories import CaseFactory, DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db

PAST = datetime(2020, 3, 4, 22, 30, tzinfo=UTC)
FUTURE = datetime(2099, 1, 2, 3, 4, tzinfo=UTC)


def rows(content: str) -> dict[int, str]:
    return {int(case_id): html for case_id, html in re.findall(r'<tr data-case-id="(\d+)"(.*?)</tr>', content, re.S)}


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.fixture
def signed_in(client, doctor):
    client.force_login(doctor)
    return client


def escalated_to(doctor, *, colleague, **fields):
    """A case of `colleague`'s whose breach was escalated to `doctor`."""
    case = CaseFactory(
        doctor=colleague, urgency=Urgency.URGENT, due_at=PAST, escalated_due_at=PAST, conversation=False, **fields
    )
    CaseEscalation.objects.create(case=case, doctor=doctor, breach_due_at=PAST)
    return case


def test_a_row_shows_the_question_cut_at_110_characters_escaped(signed_in, doctor):
    long = CaseFactory(doctor=doctor, question_preview="x" * 100 + " & <b>bold</b>")  # 114 characters
    exact = CaseFactory(doctor=doctor, question_preview="y" * 110)

    shown = rows(signed_in.get("/").content.decode())

    assert cells(shown[long.pk])[1] == f'<a href="/cases/{long.pk}/">{"x" * 100} &amp; &lt;b&gt;bol…</a>'
    assert cells(shown[exact.pk])[1] == f'<a href="/cases/{exact.pk}/">{"y" * 110}</a>'


def test_a_row_shows_the_due_time_in_the_pages_time_zone_and_marks_it_overdue(signed_in, doctor, settings):
    settings.TIME_ZONE = "America/New_York"
    late = CaseFactory(doctor=doctor, urgency=Urgency.SOON, due_at=PAST)
    on_time = CaseFactory(doctor=doctor, urgency=Urgency.SOON, due_at=FUTURE)

    shown = rows(signed_in.get("/").content.decode())

    # 22:30 UTC on 4 March 2020 is 17:30 in New York; 03:04 UTC on 2 January is 22:04 the day before.
    overdue_badge = ' <span class="badge overdue">Overdue</span>'
    assert cells(shown[late.pk])[0] == f'<span class="urgency soon">Soon</span>{overdue_badge}'
    assert cells(shown[late.pk])[3] == '<time datetime="2020-03-04T22:30:00+00:00" class="overdue">03-04 17:30</time>'
    assert cells(shown[on_time.pk])[0] == '<span class="urgency soon">Soon</span>'
    assert cells(shown[on_time.pk])[3] == '<time datetime="2099-01-02T03:04:00+00:00">01-01 22:04</time>'


def test_a_row_shows_who_holds_a_live_claim(signed_in, doctor, other_doctor):
    nameless = DoctorFactory(hospital=doctor.hospital, full_name="", email="locum@example.test")
    soon, gone = timezone.now() + timedelta(minutes=5), timezone.now() - timedelta(minutes=1)
    mine = CaseFactory(doctor=doctor, claimed_by=doctor, claim_expires_at=soon)
    colleagues = CaseFactory(doctor=doctor, claimed_by=other_doctor, claim_expires_at=soon)
    locums = CaseFactory(doctor=doctor, claimed_by=nameless, claim_expires_at=soon)
    lapsed = CaseFactory(doctor=doctor, claimed_by=other_doctor, claim_expires_at=gone)
    free = CaseFactory(doctor=doctor, hold=True)

    shown = rows(signed_in.get("/").content.decode())

    claimed_by = {case.pk: cells(shown[case.pk])[5] for case in (mine, colleagues, locums, lapsed, free)}
    assert claimed_by == {
        mine.pk: "You",
        colleagues.pk: "Dr Zhang Min",
        locums.pk: "Dr locum@example.test",
        lapsed.pk: "",
        free.pk: "",
    }
    assert cells(shown[free.pk])[4] == "Held"
    assert cells(shown[mine.pk])[4] == '<span class="muted">Released</span>'


def test_an_escalated_row_names_whose_queue_it_is_in_escaped_once(signed_in, doctor):
    colleague = DoctorFactory(hospital=doctor.hospital, full_name="O'Brien & <Co>")
    case = escalated_to(doctor, colleague=colleague, claimed_by=colleague, claim_expires_at=FUTURE)

    content = signed_in.get("/").content.decode()

    row = cells(rows(content)[case.pk])
    assert row[0] == '<span class="urgency urgent">Urgent</span> <span class="badge escalated">Escalated</span>'
    assert row[4] == "Dr O&#x27;Brien &amp; &lt;Co&gt;'s queue"
    assert row[5] == "Dr O&#x27;Brien &amp; &lt;Co&gt;"


def test_a_taken_over_row_shows_its_last_activity(signed_in, doctor):
    case = CaseFactory(
        doctor=doctor,
        status=CaseStatus.TAKEN_OVER,
        claimed_by=doctor,
        updated_at=timezone.now() - timedelta(days=3, hours=2),
    )

    row = cells(rows(signed_in.get("/").content.decode())[case.pk])

    assert row[3] == "last activity 3\xa0days, 2\xa0hours ago"


def test_the_queue_speaks_chinese_to_a_zh_hans_doctor(signed_in, doctor, other_doctor):
    doctor.language = "zh-hans"
    doctor.save(update_fields=["language"])
    patient = PatientFactory(hospital=doctor.hospital)
    own = CaseFactory(
        doctor=doctor,
        patient=patient,
        urgency=Urgency.EMERGENCY,
        due_at=PAST,
        hold=True,
        claimed_by=doctor,
        claim_expires_at=FUTURE,
        question_preview="我怀孕三十周，" * 20,
    )
    escalated = escalated_to(doctor, colleague=other_doctor, patient=patient)
    taken = CaseFactory(
        doctor=doctor,
        patient=patient,
        status=CaseStatus.TAKEN_OVER,
        claimed_by=doctor,
        updated_at=timezone.now() - timedelta(days=3, hours=2),
    )

    shown = rows(signed_in.get("/").content.decode())

    own_row = cells(shown[own.pk])
    assert own_row[0] == '<span class="urgency emergency">危急</span> <span class="badge overdue">已超时</span>'
    assert own_row[1].endswith(f'">{("我怀孕三十周，" * 20)[:107]}...</a>')  # Django's Chinese ellipsis
    assert own_row[4:] == ["已暂缓", "我"]
    assert cells(shown[escalated.pk])[4] == "Zhang Min医生的审核队列"
    assert cells(shown[taken.pk])[3] == "最近活动：3\xa0日，2\xa0小时前"
