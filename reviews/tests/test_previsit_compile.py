"""The pre-visit compile (reviews/previsit_compile.py) on realistic histories in English,
Chinese and both mixed: what a doctor reads before the visit, and where each line came from."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone, translation

from reviews.models import Appointment, Case, CaseStatus, Decision, Message
from reviews.previsit_compile import FORMAT_VERSION, compile_previsit_summary
from reviews.previsit_extract import extract_patient_message, question_asked
from reviews.services import (
    CaseIngestData,
    IngestMessage,
    case_approve,
    case_claim,
    case_close,
    case_correct,
    case_ingest,
    case_patient_message_add,
    case_reply,
    case_take_over,
)

from .factories import CaseFactory, PatientFactory

# 04:00 in Shanghai on 2 March, still 1 March in UTC: the timeline's `date` is the hospital's day.
T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
_external_ids = itertools.count(1)


def ingest(platform, doctor, *, ref, at, patient, draft, confidence=0.95, flags=None) -> Case:
    """A case as the platform pushes it at `at`: the patient's messages minutes before, then the draft."""
    messages = [IngestMessage("patient", body, at - timedelta(minutes=10 - i)) for i, body in enumerate(patient)]
    messages.append(IngestMessage("avatar", draft, at - timedelta(minutes=1)))
    data = CaseIngestData(
        external_id=f"conv-{next(_external_ids)}",
        doctor_licence=doctor.doctor_profile.licence_number,
        patient_ref=ref,
        messages=messages,
        avatar_confidence=confidence,
        avatar_flags=flags or [],
    )
    with time_machine.travel(at, tick=False):
        case, created = case_ingest(api_client=platform, data=data)
    assert created
    return case


def decide(action, case, doctor, at, **fields) -> Decision:
    with time_machine.travel(at, tick=False):
        case = case_claim(case=case, doctor=doctor)
        return action(case=case, doctor=doctor, version=case.version, **fields)


def messages_of(case: Case) -> list[Message]:
    return list(case.messages.order_by("id"))


def book(case: Case, doctor, at) -> Appointment:
    return Appointment.objects.create(
        hospital=case.hospital, patient=case.patient, doctor=doctor, scheduled_at=at, reason="32-week antenatal check"
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def by_key(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


def sources(item: dict) -> list[tuple[int, int]]:
    return [(m["case_id"], m["message_id"]) for m in item["mentions"]]


@pytest.fixture
def english(platform, doctor):
    """Four weeks of a pregnant patient writing in English."""
    ref = "en-patient-1"
    headache = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0,
        patient=[
            "I'm 28 weeks pregnant and have had a headache since Monday. I took two paracetamol tablets. "
            "No fever. Is it safe to take ibuprofen?"
        ],
        draft="Paracetamol is generally considered safe in pregnancy; avoid ibuprofen. "
        "If the headache gets worse or comes with vision changes, contact your midwife.",
    )
    swelling = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=7),
        patient=["I'm allergic to penicillin. My ankles are swollen and I feel dizzy. What should I do?"],
        draft="You have pre-eclampsia.",
    )
    correction = decide(
        case_correct,
        swelling,
        doctor,
        T0 + timedelta(days=7, hours=1),
        final_text="Swollen ankles are common late in pregnancy, but with dizziness please come in today "
        "so we can check your blood pressure.",
        category="should_escalate",
        note="Needs a blood pressure check.",
    )
    movement = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=14),
        patient=["The baby is moving less since this morning and I have a rash on my arms. Should I go to hospital?"],
        draft="Lie on your left side and count the kicks for two hours.",
        flags=[{"code": "pregnancy", "reason": "Reduced movements in late pregnancy"}],
    )
    supplements = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=20),
        patient=["Can I keep taking folic acid and iron tablets?"],
        draft="Folic acid and iron are usually continued.",
        confidence=0.1,
    )
    take_over = decide(case_take_over, supplements, doctor, T0 + timedelta(days=20, minutes=30))
    with time_machine.travel(T0 + timedelta(days=20, minutes=40), tick=False):
        reply = case_reply(case=supplements, doctor=doctor, body="Yes, keep taking both every day until you deliver.")
    follow_up_at = T0 + timedelta(days=20, hours=2)
    with time_machine.travel(follow_up_at, tick=False):
        follow_up = case_patient_message_add(
            api_client=platform,
            case=supplements,
            body="I also have chest pain since lunch. When is my next scan?",
            sent_at=follow_up_at,
        )
    return {
        "cases": (headache, swelling, movement, supplements),
        "correction": correction,
        "take_over": take_over,
        "reply": reply,
        "follow_up": follow_up,
        "appointment": book(headache, doctor, T0 + timedelta(days=22)),
    }


@pytest.fixture
def chinese(platform, doctor):
    """A patient writing in Simplified Chinese."""
    ref = "zh-patient-1"
    headache = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=1),
        patient=["怀孕32周，头疼两天了，昨天吃了两片扑热息痛，没有发烧。我对花生不过敏。请问需要去医院吗？"],
        draft="多休息，多喝水，如果头痛加重请及时就诊。",
    )
    cough = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=5),
        patient=["我对青霉素和头孢过敏，最近咳嗽，嗓子疼。", "可以吃阿奇霉素吗？"],
        draft="阿奇霉素在孕期一般可以使用，请遵医嘱。",
        confidence=0.3,
    )
    approval = decide(case_approve, cough, doctor, T0 + timedelta(days=5, hours=2))
    movement = ingest(
        platform,
        doctor,
        ref=ref,
        at=T0 + timedelta(days=9),
        patient=["胎动少了，肚子一阵一阵发紧，怎么办？"],
        draft="请立即到医院检查。",
    )
    return {
        "cases": (headache, cough, movement),
        "approval": approval,
        "appointment": book(headache, doctor, T0 + timedelta(days=10)),
    }


@pytest.mark.django_db
def test_an_english_history(english, doctor):
    headache, swelling, movement, supplements = english["cases"]
    assert [c.status for c in (headache, swelling, movement)] == ["auto_released", "awaiting_review", "awaiting_review"]
    h_question, _h_draft = messages_of(headache)
    s_question, s_draft = messages_of(swelling)
    m_question, _m_draft = messages_of(movement)
    supplements_question = messages_of(supplements)[0]

    content = compile_previsit_summary(english["appointment"]).content

    medications = by_key(content["medications"], "name")
    assert [m["name"] for m in content["medications"]] == ["ibuprofen", "paracetamol", "folic_acid", "iron_supplement"]
    assert sources(medications["paracetamol"]) == [(headache.pk, h_question.pk)]
    assert medications["paracetamol"]["mentions"][0]["text"] == "I took two paracetamol tablets"
    assert sources(medications["iron_supplement"]) == [(supplements.pk, supplements_question.pk)]
    assert content["allergies"] == [
        {
            "substance": "penicillin",
            "label": "Penicillin",
            "mentions": [
                {
                    "case_id": swelling.pk,
                    "message_id": s_question.pk,
                    "at": iso(s_question.sent_at),
                    "text": "I'm allergic to penicillin",
                }
            ],
        }
    ]
    symptoms = by_key(content["symptoms"], "term")
    # "No fever." is a negation: the fever is not listed.
    assert list(symptoms) == ["headache", "dizziness", "swelling", "rash", "reduced_fetal_movement", "chest_pain"]
    assert sources(symptoms["swelling"]) == [(swelling.pk, s_question.pk)]
    assert symptoms["chest_pain"]["mentions"][0]["message_id"] == english["follow_up"].pk

    # Triage flags point at the message that raised them, also a follow-up after a doctor's reply;
    # the avatar's own flag belongs to the case, not a message.
    assert [(f["source"], f["rule_id"], f["case_id"], f["message_id"]) for f in content["red_flags"]] == [
        ("triage", "reduced_fetal_movement", movement.pk, m_question.pk),
        ("avatar", "", movement.pk, None),
        ("triage", "chest_pain", supplements.pk, english["follow_up"].pk),
    ]
    assert content["red_flags"][0]["matched_text"] == "baby is moving less"
    assert content["red_flags"][1]["reason"] == "Reduced movements in late pregnancy"
    assert content["red_flags"][2]["urgency"] == "emergency"

    # Answered: the auto-released draft, the correction, the doctor's reply. Open: a question
    # whose draft is held for review, and one asked after the doctor's last reply.
    assert content["open_questions"] == [
        {
            "text": "Should I go to hospital?",
            "case_id": movement.pk,
            "message_id": m_question.pk,
            "at": iso(m_question.sent_at),
        },
        {
            "text": "When is my next scan?",
            "case_id": supplements.pk,
            "message_id": english["follow_up"].pk,
            "at": iso(english["follow_up"].sent_at),
        },
    ]

    correction = english["correction"]
    assert content["corrections"] == [
        {
            "decision_id": correction.pk,
            "case_id": swelling.pk,
            "action": "correct",
            "doctor": {"id": doctor.pk, "name": "Li Wei"},
            "at": iso(correction.created_at),
            "category": "should_escalate",
            "original_text": s_draft.body,
            "final_text": correction.final_text,
            "note": "Needs a blood pressure check.",
        }
    ]
    assert [(d["action"], d["decision_id"]) for d in content["decisions"]] == [
        ("correct", correction.pk),
        ("take_over", english["take_over"].pk),
    ]
    assert content["decisions"][1]["final_text"] is None

    reply = english["reply"]
    assert content["last_advice"] == {
        "text": "Yes, keep taking both every day until you deliver.",
        "case_id": supplements.pk,
        "message_id": reply.pk,
        "decision_id": None,
        "at": iso(reply.sent_at),
        "by": "doctor",
    }
    assert [c["case_id"] for c in content["presenting_concerns"]] == [c.pk for c in english["cases"]]
    assert content["presenting_concerns"][1] == {
        "text": s_question.body,
        "case_id": swelling.pk,
        "message_id": s_question.pk,
        "at": iso(s_question.sent_at),
        "urgency": "routine",
        "status": "corrected",
    }


@pytest.mark.django_db
def test_a_chinese_history(chinese, doctor):
    headache, cough, movement = chinese["cases"]
    h_question, _h_draft = messages_of(headache)
    c_first, c_question, c_draft = messages_of(cough)
    m_question, _m_draft = messages_of(movement)

    content = compile_previsit_summary(chinese["appointment"]).content

    medications = by_key(content["medications"], "name")
    # 头孢 is named in an allergy, not taken: it is an allergy only.
    assert list(medications) == ["paracetamol", "azithromycin"]
    assert medications["paracetamol"]["mentions"][0] | {"at": None} == {
        "case_id": headache.pk,
        "message_id": h_question.pk,
        "at": None,
        "text": "昨天吃了两片扑热息痛",
    }
    assert sources(medications["azithromycin"]) == [(cough.pk, c_question.pk)]
    # "我对花生不过敏" is no peanut allergy.
    assert [(a["substance"], sources(a)) for a in content["allergies"]] == [
        ("cephalosporin", [(cough.pk, c_first.pk)]),  # one message: by name
        ("penicillin", [(cough.pk, c_first.pk)]),
    ]
    assert content["allergies"][0]["mentions"][0]["text"] == "我对青霉素和头孢过敏"
    # 没有发烧: no fever.
    assert [s["term"] for s in content["symptoms"]] == ["headache", "cough", "sore_throat", "reduced_fetal_movement"]
    assert [(f["rule_id"], f["case_id"], f["message_id"]) for f in content["red_flags"]] == [
        ("reduced_fetal_movement", movement.pk, m_question.pk)
    ]
    assert content["red_flags"][0]["matched_text"] == "胎动少了"
    # 请问需要去医院吗 was answered (auto-released), 可以吃阿奇霉素吗 too (approved).
    assert content["open_questions"] == [
        {
            "text": "胎动少了，肚子一阵一阵发紧，怎么办？",
            "case_id": movement.pk,
            "message_id": m_question.pk,
            "at": iso(m_question.sent_at),
        }
    ]
    approval = chinese["approval"]
    assert content["last_advice"] == {
        "text": c_draft.body,
        "case_id": cough.pk,
        "message_id": c_draft.pk,
        "decision_id": approval.pk,
        "at": iso(approval.created_at),
        "by": "avatar",
    }
    assert content["corrections"] == []


@pytest.mark.django_db
def test_a_patient_mixing_english_and_chinese(platform, doctor):
    case = ingest(
        platform,
        doctor,
        ref="mixed-1",
        at=T0,
        patient=[
            "Doctor 我最近失眠, and I have back pain. 吃了布洛芬 but it didn't help. "
            "我对磺胺过敏, not allergic to latex. 能吃什么药？"
        ],
        draft="Ibuprofen is best avoided now; try a warm bath before bed.",
        confidence=0.2,
    )
    take_over = decide(case_take_over, case, doctor, T0 + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        case.refresh_from_db()
        close = case_close(case=case, doctor=doctor, version=case.version)
    question = messages_of(case)[0]

    content = compile_previsit_summary(book(case, doctor, T0 + timedelta(days=1))).content

    assert [s["term"] for s in content["symptoms"]] == ["back_pain", "insomnia"]
    assert [(m["name"], m["mentions"][0]["text"]) for m in content["medications"]] == [
        ("ibuprofen", "吃了布洛芬 but it didn't help")
    ]
    assert [a["substance"] for a in content["allergies"]] == ["sulfa"]
    # Taken over and closed without a reply: the question was never answered.
    assert content["open_questions"] == [
        {"text": "能吃什么药？", "case_id": case.pk, "message_id": question.pk, "at": iso(question.sent_at)}
    ]
    assert content["last_advice"] is None
    assert [(d["action"], d["decision_id"], d["doctor"]["name"]) for d in content["decisions"]] == [
        ("take_over", take_over.pk, "Li Wei"),
        ("close", close.pk, "Li Wei"),
    ]


@pytest.mark.django_db
def test_timeline_is_dated_oldest_first_and_links_back(english, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    headache, swelling, _movement, supplements = english["cases"]
    content = compile_previsit_summary(english["appointment"]).content
    timeline = content["timeline"]

    assert [(e["at"], e["case_id"], e["message_id"] or 0) for e in timeline] == sorted(
        (e["at"], e["case_id"], e["message_id"] or 0) for e in timeline
    )
    first = timeline[0]
    h_question = messages_of(headache)[0]
    assert first["at"].startswith("2026-03-01T19:50")
    assert first["date"] == "2026-03-02"  # 03:50 in Shanghai
    assert [(e["kind"], e["text"]) for e in timeline if e["message_id"] == h_question.pk] == [
        ("medication", "Ibuprofen: Is it safe to take ibuprofen"),
        ("medication", "Paracetamol: I took two paracetamol tablets"),
        ("symptom", "Headache: I'm 28 weeks pregnant and have had a headache since Monday"),
    ]
    decisions = [e for e in timeline if e["kind"] == "decision"]
    assert [(e["case_id"], e["decision_id"], e["action"], e["message_id"]) for e in decisions] == [
        (swelling.pk, english["correction"].pk, "correct", None),
        (supplements.pk, english["take_over"].pk, "take_over", None),
    ]
    assert decisions[0]["text"].startswith("Corrected by Li Wei: Swollen ankles are common")
    assert [e["message_id"] for e in timeline if e["kind"] == "doctor_message"] == [english["reply"].pk]
    assert {e["kind"] for e in timeline} == {
        "symptom",
        "medication",
        "allergy",
        "red_flag",
        "decision",
        "doctor_message",
    }


@pytest.mark.django_db
def test_a_symptom_in_two_cases_is_one_symptom_with_two_mentions(platform, doctor):
    first = ingest(platform, doctor, ref="p", at=T0, patient=["Headache again today."], draft="Rest and drink water.")
    second = ingest(
        platform, doctor, ref="p", at=T0 + timedelta(days=3), patient=["头疼又来了，头痛得厉害。"], draft="多休息。"
    )
    content = compile_previsit_summary(book(first, doctor, T0 + timedelta(days=4))).content

    (headache,) = content["symptoms"]
    assert sources(headache) == [(first.pk, messages_of(first)[0].pk), (second.pk, messages_of(second)[0].pk)]
    assert (headache["first_at"], headache["last_at"]) == (headache["mentions"][0]["at"], headache["mentions"][1]["at"])
    assert [e["case_id"] for e in content["timeline"] if e["kind"] == "symptom"] == [first.pk, second.pk]


@pytest.mark.django_db
def test_what_reached_the_patient_answers_their_question(platform, doctor, hospital):
    """The routine sample releases the draft at once; approval then closing keeps it answered."""
    hospital.routine_sample_rate = 1.0
    hospital.save()
    sampled = ingest(platform, doctor, ref="p", at=T0, patient=["How long should I rest?"], draft="Two days of rest.")
    assert (sampled.status, sampled.hold) == (CaseStatus.AWAITING_REVIEW, False)
    closed = ingest(
        platform,
        doctor,
        ref="p",
        at=T0 + timedelta(days=1),
        patient=["Can I swim?"],
        draft="Yes, gently.",
        confidence=0.1,
    )
    decide(case_approve, closed, doctor, T0 + timedelta(days=1, hours=1))
    with time_machine.travel(T0 + timedelta(days=1, hours=2), tick=False):
        closed.refresh_from_db()
        case_close(case=closed, doctor=doctor, version=closed.version)

    content = compile_previsit_summary(book(sampled, doctor, T0 + timedelta(days=2))).content

    assert content["open_questions"] == []
    assert (content["last_advice"]["case_id"], content["last_advice"]["text"]) == (closed.pk, "Yes, gently.")
    assert [d["action"] for d in content["decisions"]] == ["approve", "close"]


@pytest.mark.django_db
def test_same_rows_compile_to_the_same_bytes(english, chinese):
    for appointment in (english["appointment"], chinese["appointment"]):
        first = compile_previsit_summary(appointment)
        # Neither the reader's language nor their time zone reaches the stored content.
        with translation.override("zh-hans"), timezone.override("America/New_York"):
            second = compile_previsit_summary(appointment)
        assert json.dumps(first.content, sort_keys=True) == json.dumps(second.content, sort_keys=True)
        assert json.dumps(first.content) == json.dumps(second.content)  # key order too
        assert first.source_case_ids == second.source_case_ids


@pytest.mark.django_db
def test_format_version_and_shape(english, doctor):
    compiled = compile_previsit_summary(english["appointment"])
    content = compiled.content
    appointment = english["appointment"]
    patient = appointment.patient

    assert content["format_version"] == FORMAT_VERSION == 1
    assert set(content) == {
        "format_version",
        "patient",
        "appointment",
        "case_count",
        "first_contact_at",
        "last_contact_at",
        "presenting_concerns",
        "timeline",
        "symptoms",
        "medications",
        "allergies",
        "red_flags",
        "decisions",
        "corrections",
        "open_questions",
        "last_advice",
    }
    assert content["patient"] == {"pseudonym": patient.pseudonym, "birth_year": None, "sex": "unknown"}
    assert content["appointment"] == {
        "id": appointment.pk,
        "scheduled_at": iso(appointment.scheduled_at),
        "reason": "32-week antenatal check",
        "doctor": {"id": doctor.pk, "name": "Li Wei"},
    }
    assert content["case_count"] == 4
    assert compiled.source_case_ids == [c.pk for c in english["cases"]]
    assert content["first_contact_at"] == iso(T0 - timedelta(minutes=10))
    assert content["last_contact_at"] == iso(english["follow_up"].sent_at)
    for entry in content["timeline"]:
        assert {"at", "date", "kind", "text", "case_id", "message_id"} <= set(entry)
        assert entry["case_id"] in compiled.source_case_ids
    json.dumps(content)  # stored in a JSONField as it is


@pytest.mark.django_db
def test_a_patient_without_cases(hospital, doctor):
    patient = PatientFactory(hospital=hospital)
    appointment = Appointment.objects.create(
        hospital=hospital, patient=patient, doctor=doctor, scheduled_at=T0, reason="First visit"
    )
    compiled = compile_previsit_summary(appointment)
    assert compiled.source_case_ids == []
    assert compiled.content["case_count"] == 0
    assert compiled.content["first_contact_at"] is None
    assert compiled.content["last_advice"] is None
    assert compiled.content["timeline"] == compiled.content["symptoms"] == compiled.content["open_questions"] == []


@pytest.mark.django_db
def test_other_patients_and_other_hospitals_never_appear(english, doctor, outside_doctor):
    appointment = english["appointment"]
    other_patient = CaseFactory(doctor=doctor, question_preview="OTHER PATIENT: severe back pain and a cough?")
    # A row that wrongly links our patient to another hospital's case must still stay out.
    other_hospital = CaseFactory(
        doctor=outside_doctor, patient=appointment.patient, question_preview="OTHER HOSPITAL: toothache?"
    )
    assert other_hospital.hospital_id != appointment.hospital_id

    compiled = compile_previsit_summary(appointment)

    assert compiled.source_case_ids == [c.pk for c in english["cases"]]
    dumped = json.dumps(compiled.content, ensure_ascii=False)
    assert "OTHER" not in dumped
    linked = {e["case_id"] for e in compiled.content["timeline"]} | {
        m["case_id"] for s in compiled.content["symptoms"] for m in s["mentions"]
    }
    assert linked <= set(compiled.source_case_ids)
    assert other_patient.pk not in linked and other_hospital.pk not in linked


@pytest.mark.django_db
def test_two_hundred_cases_compile_in_a_constant_number_of_queries(hospital, doctor, django_assert_max_num_queries):
    patient = PatientFactory(hospital=hospital)
    cases = Case.objects.bulk_create(
        Case(
            hospital=hospital,
            doctor=doctor,
            reviewer=doctor,
            patient=patient,
            external_id=f"bulk-{i}",
            status=CaseStatus.APPROVED if i % 4 == 0 else CaseStatus.AUTO_RELEASED,
            received_at=T0 + timedelta(hours=i),
            due_at=T0 + timedelta(hours=i + 8),
            flags=[
                {
                    "source": "triage",
                    "code": "chest_pain",
                    "rule_id": "chest_pain",
                    "urgency": "emergency",
                    "matched_text": "胸痛",
                    "message_index": 2,
                }
            ]
            if i % 10 == 0
            else [],
        )
        for i in range(200)
    )
    texts = [
        ("patient", "I have a headache and took paracetamol. What should I do?"),
        ("avatar", "Rest and drink water."),
        ("patient", "还有点胸痛，对青霉素过敏，可以吃布洛芬吗？"),
        ("avatar", "请尽快就诊。"),
    ]
    Message.objects.bulk_create(
        Message(case=case, author=author, body=body, sent_at=case.received_at + timedelta(minutes=j))
        for case in cases
        for j, (author, body) in enumerate(texts)
    )
    Decision.objects.bulk_create(
        Decision(
            case=case,
            doctor=doctor,
            action="approve",
            original_text="请尽快就诊。",
            final_text="请尽快就诊。",
            created_at=case.received_at + timedelta(hours=1),
        )
        for case in cases[::4]
    )
    appointment = Appointment.objects.create(hospital=hospital, patient=patient, doctor=doctor, scheduled_at=T0)

    with django_assert_max_num_queries(4):
        content = compile_previsit_summary(appointment).content

    assert content["case_count"] == 200
    assert len(content["presenting_concerns"]) == 200
    assert len(content["red_flags"]) == 20
    assert len(content["decisions"]) == 50
    assert [s["term"] for s in content["symptoms"]] == ["headache", "chest_pain"]
    assert len(content["symptoms"][0]["mentions"]) == 200
    assert content["open_questions"] == []
    assert content["last_advice"]["case_id"] == cases[-1].pk


# --- Extraction from one message, no database -------------------------------------------------


def found(body: str) -> list[tuple[str, str]]:
    return [(m.kind, m.term.key) for m in extract_patient_message(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("No headache or fever, but my ankles are swollen.", [("symptom", "swelling")]),
        ("I don't have a cough.", []),
        ("I have no fever and my ankles are swollen", [("symptom", "swelling")]),
        ("I haven't had a fever since the headache started", [("symptom", "headache")]),
        ("不发烧还是头痛", [("symptom", "headache")]),
        ("没有头痛、发烧，就是胎动少了", [("symptom", "reduced_fetal_movement")]),
        ("不发烧，一直不停咳嗽", [("symptom", "cough")]),
        ("偏头痛又犯了", [("symptom", "migraine")]),
        ("吃了Tylenol还是头痛，体温38.5度", [("symptom", "headache"), ("medication", "paracetamol")]),
        ("I am not allergic to penicillin or sulfa.", []),
        ("没有过敏，对青霉素不过敏", []),
        (
            "Allergic to penicillin, sulfa and eggs",
            [("allergy", "penicillin"), ("allergy", "sulfa"), ("allergy", "eggs")],
        ),
        ("I take cetirizine, pollen allergy is bad", [("medication", "cetirizine"), ("allergy", "pollen")]),
        ("吃了氯雷他定治过敏", [("medication", "loratadine")]),
        ("对阿莫西林过敏", [("allergy", "amoxicillin")]),
        ("I can’t sleep and took 2.5 ml of Motilium", [("symptom", "insomnia"), ("medication", "domperidone")]),
    ],
)
def test_extraction_in_both_languages_with_negation(body, expected):
    assert found(body) == expected


def test_a_mention_is_the_clause_around_it_at_most_80_characters():
    long_clause = "I have been feeling " + "really " * 20 + "dizzy in the mornings " + "and evenings " * 10
    (dizziness,) = extract_patient_message(long_clause)
    assert len(dizziness.text) <= 80
    assert "dizzy" in dizziness.text
    assert dizziness.text.startswith("…") and dizziness.text.endswith("…")


@pytest.mark.parametrize(
    ("body", "question"),
    [
        ("My head hurts. Is it safe to take paracetamol?", "Is it safe to take paracetamol?"),
        ("Doctor, can I take Tylenol", "Doctor, can I take Tylenol"),
        ("What should I do", "What should I do"),
        ("请问需要去医院吗", "请问需要去医院吗"),
        ("头痛怎么办", "头痛怎么办"),
        ("Thanks, the headache is gone.", None),
        ("吃了吗啡以后没什么感觉。", None),
        ("我头疼两天了。", None),
    ],
)
def test_questions_are_recognised_in_both_languages(body, question):
    assert question_asked(body) == question
