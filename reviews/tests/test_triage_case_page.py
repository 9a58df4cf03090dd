"""What a doctor sees of the portal's triage on the case page: the span marked, the rule's reason."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviews.services import CaseIngestData, IngestMessage, case_ingest
from reviews.triage.red_flags import RULES_VERSION

QUESTION = "已经一个小时了，我胸口痛，左手发麻。"


@pytest.fixture
def flagged_case(platform, doctor):
    sent = timezone.now() - timedelta(minutes=2)
    data = CaseIngestData(
        external_id="triage-page-1",
        doctor_licence=doctor.doctor_profile.licence_number,
        patient_ref="platform-user-triage",
        messages=[
            IngestMessage("patient", QUESTION, sent),
            IngestMessage("avatar", "请先休息，如果加重请就医。", sent + timedelta(minutes=1)),
        ],
        avatar_confidence=0.95,
        avatar_flags=[],
    )
    case, _ = case_ingest(api_client=platform, data=data)
    return case


def test_the_case_page_marks_the_matched_span_and_says_which_rule_and_why(client, doctor, flagged_case):
    client.force_login(doctor)

    content = client.get(f"/cases/{flagged_case.pk}/").content.decode()

    assert '已经一个小时了，我<mark title="chest_pain">胸口痛</mark>，左手发麻。' in content
    assert "Portal triage" in content
    assert "Chest pain, pressure or tightness now: possible heart attack" in content
    assert f"(chest_pain, {RULES_VERSION})" in content


def test_a_chinese_speaking_doctor_reads_the_rules_chinese_description(client, doctor, flagged_case):
    doctor.language = "zh-hans"
    doctor.save(update_fields=["language"])
    client.force_login(doctor)

    content = client.get(f"/cases/{flagged_case.pk}/").content.decode()

    assert "当前胸痛、胸闷或压迫感：可能为心肌梗死" in content
    assert "possible heart attack" not in content
