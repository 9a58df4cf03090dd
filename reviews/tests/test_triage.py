"""The portal's own safety screens and review policy (DESIGN §4, §6): pure, no database."""

import pytest

from reviews.policy import IncomingMessage, assess_case, avatar_flag_urgency, in_routine_sample
from reviews.triage import RULES_VERSION, asks_for_human, guard_draft, screen_message

# --- screen_message -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule_id", "urgency", "matched"),
    [
        ("I've had chest pain since this morning and I'm sweating.", "chest_pain", "emergency", "chest pain"),
        ("There's a crushing feeling in the middle of my chest", "chest_pain", "emergency", "crushing feeling"),
        ("我胸口痛了一个小时，左手发麻", "chest_pain", "emergency", "胸口痛"),
        ("心口疼得厉害", "chest_pain", "emergency", "心口疼"),
        (
            "Her face is drooping on one side and she has slurred speech",
            "stroke_signs",
            "emergency",
            "face is drooping",
        ),
        ("我爸突然嘴歪了，说话不清", "stroke_signs", "emergency", "嘴歪"),
        ("My son can't breathe properly and his lips are blue", "breathing", "emergency", "can't breathe"),
        ("孩子喘不过气来", "breathing", "emergency", "喘不过气"),
        ("After the peanut my throat is swelling", "anaphylaxis", "emergency", "throat is swelling"),
        ("打完针舌头肿了", "anaphylaxis", "emergency", "舌头肿"),
        ("I've soaked through pads every hour", "severe_bleeding", "emergency", "soaked through pad"),
        ("There is heavy bleeding after my fall", "severe_bleeding", "emergency", "heavy bleeding"),
        ("手割破了，血止不住", "severe_bleeding", "emergency", "血止不住"),
        ("I'm 10 weeks pregnant and bleeding", "pregnancy_bleeding", "urgent", "pregnant and bleed"),
        ("怀孕12周，今天见红了", "pregnancy_bleeding", "urgent", "怀孕12周，今天见红"),
        ("I'm 34 weeks and the baby is moving less today", "reduced_fetal_movement", "urgent", "baby is moving less"),
        ("孕36周，胎动减少了", "reduced_fetal_movement", "urgent", "胎动减少"),
        ("I just want to kill myself", "suicidal", "emergency", "kill myself"),
        ("我真的不想活了", "suicidal", "emergency", "不想活"),
        ("My 6-week-old is at 38.4°C", "infant_fever", "urgent", "6-week-old is at 38.4°C"),
        ("宝宝2个月，发烧38.5度", "infant_fever", "urgent", "宝宝2个月，发烧"),
        ("My daughter had a seizure ten minutes ago", "seizure", "emergency", "seizure"),
        ("孩子刚才抽搐了两分钟", "seizure", "emergency", "抽搐"),
    ],
)
def test_red_flags_fire_with_rule_urgency_and_matched_text(text, rule_id, urgency, matched):
    flags = screen_message(text)

    assert rule_id in [f.rule_id for f in flags]
    flag = next(f for f in flags if f.rule_id == rule_id)
    assert (flag.urgency, flag.matched_text, flag.rules_version) == (urgency, matched, RULES_VERSION)
    assert text[flag.start : flag.end] == flag.matched_text


@pytest.mark.parametrize(
    "text",
    [
        # Negations.
        "I have a cough but no chest pain.",
        "No chest pain, just a runny nose.",
        "I don't have chest pain or shortness of breath.",
        "咳嗽一周了，没有胸痛。",
        "没胸闷，也没有呼吸困难",
        "Baby is 5 months, no fever, just drooling a lot. Teething?",
        "宝宝4个月，不发烧，就是有点鼻塞",
        "8 weeks pregnant, no bleeding, no cramping. Is that normal?",
        "孕30周，胎动一直很好，没有出血",
        "孕38周，没见红也没破水",
        # History.
        "My father had chest pain in 2015 and needed a stent; should I be checked?",
        "我爸爸以前得过脑梗，嘴歪过，我需要注意什么",
        "I had a seizure years ago, can I still drive?",
        # General questions.
        "What are the signs of a stroke?",
        "How do I know if it's chest pain from the heart?",
        "中风有哪些症状？",
        # Ordinary messages.
        "I have had a mild headache since yesterday, what should I do?",
        "Can I take paracetamol while breastfeeding?",
        "怀孕期间可以喝咖啡吗？",
    ],
)
def test_negated_past_general_and_ordinary_mentions_do_not_fire(text):
    assert screen_message(text) == []


def test_one_flag_per_rule_however_often_it_matches():
    flags = screen_message("Chest pain. More chest pain. 胸痛。")

    assert [f.rule_id for f in flags] == ["chest_pain"]


def test_a_negation_in_another_sentence_does_not_hide_a_red_flag():
    flags = screen_message("No fever. But now I have chest pain and feel faint.")

    assert [f.rule_id for f in flags] == ["chest_pain"]


def test_a_real_mention_after_a_negated_one_still_fires():
    flags = screen_message("No chest pain yesterday. Today: chest pain when I climb stairs.")

    assert [(f.rule_id, f.matched_text) for f in flags] == [("chest_pain", "chest pain")]
    assert flags[0].start > len("No chest pain yesterday.")


def test_several_rules_can_fire_on_one_message():
    flags = screen_message("Chest pain and I can't breathe")

    assert {f.rule_id for f in flags} == {"chest_pain", "breathing"}


# --- asks_for_human -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Can I speak to a real doctor please?", True),
        ("I want to talk to a human", True),
        ("Are you a bot? I want a real doctor", True),
        ("我想找医生本人", True),
        ("转人工服务", True),
        ("Thanks, that helps a lot.", False),
        ("医生说要多喝水", False),
    ],
)
def test_asks_for_human(text, asks):
    assert asks_for_human(text) is asks


# --- guard_draft --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "reasons"),
    [
        ("Take ibuprofen 400 mg with food.", ["draft_prescription"]),
        ("Use it twice a day for a week.", ["draft_prescription"]),
        ("Take one tablet every 8 hours.", ["draft_prescription"]),
        ("I will prescribe amoxicillin for you.", ["draft_prescription"]),
        ("建议口服阿莫西林，每次500毫克。", ["draft_prescription"]),
        ("每日3次，饭后服用。", ["draft_prescription"]),
        ("我给你开药。", ["draft_prescription"]),
        ("You have a urinary tract infection.", ["draft_diagnosis"]),
        ("你得了急性胃肠炎。", ["draft_diagnosis"]),
        ("You have tonsillitis; take penicillin 500 mg.", ["draft_diagnosis", "draft_prescription"]),
        ("Rest, drink plenty of water, and see a doctor if it gets worse.", []),
        ("多休息，多喝水，如果加重请及时就医。", []),
        ("Many people have this in the first weeks; it usually settles.", []),
    ],
)
def test_guard_draft(draft, reasons):
    assert guard_draft(draft) == reasons


# --- assess_case --------------------------------------------------------------------------


def assess(*messages, avatar_flags=(), confidence=0.95, threshold=0.7, sample_rate=0.0, key="h1:conv-1"):
    return assess_case(
        messages=[IncomingMessage(author, body) for author, body in messages],
        avatar_flags=list(avatar_flags),
        avatar_confidence=confidence,
        confidence_threshold=threshold,
        sample_rate=sample_rate,
        sample_key=key,
    )


SAFE = ("avatar", "Rest and drink plenty of water; see a doctor if it gets worse.")


def test_a_red_flag_is_held_at_the_flags_urgency():
    result = assess(("patient", "I have chest pain"), SAFE)

    assert (result.urgency, result.review_reasons, result.hold, result.needs_review) == (
        "emergency",
        ["red_flag"],
        True,
        True,
    )
    [flag] = result.flags
    assert (flag["source"], flag["rule_id"], flag["matched_text"], flag["message_index"]) == (
        "triage",
        "chest_pain",
        "chest pain",
        0,
    )


def test_the_most_urgent_flag_sets_the_urgency():
    result = assess(("patient", "My 3 week old baby has a fever"), ("patient", "and now a seizure"), SAFE)

    assert {f["rule_id"] for f in result.flags} == {"infant_fever", "seizure"}
    assert result.urgency == "emergency"
    assert [f["message_index"] for f in result.flags] == [0, 1]


def test_only_patient_messages_are_screened_for_red_flags():
    result = assess(("patient", "I have a headache"), ("avatar", "Chest pain would be a reason to call 120."))

    assert result.flags == []
    assert result.urgency == "routine"


def test_only_avatar_drafts_are_guarded():
    result = assess(("patient", "I took 400 mg of ibuprofen"), SAFE)

    assert result.review_reasons == []


def test_avatar_flags_hold_and_map_to_an_urgency():
    result = assess(("patient", "hello"), SAFE, avatar_flags=[{"code": "URGENT", "reason": "dizzy"}])

    assert (result.urgency, result.review_reasons, result.hold) == ("urgent", ["avatar_flag"], True)
    assert (result.flags[0]["source"], result.flags[0]["reason"]) == ("avatar", "dizzy")


@pytest.mark.parametrize(
    ("code", "urgency"),
    [
        ("emergency", "emergency"),
        ("soon", "soon"),
        ("chest_pain", "emergency"),
        ("pregnancy", "urgent"),
        ("odd", "soon"),
    ],
)
def test_avatar_flag_urgency(code, urgency):
    assert avatar_flag_urgency(code) == urgency


def test_reasons_are_ordered_avatar_then_triage_then_the_rest():
    result = assess(
        ("patient", "Chest pain. Can I speak to a real doctor?"),
        ("avatar", "You have angina; take aspirin 300 mg."),
        avatar_flags=[{"code": "chest_pain"}],
        confidence=0.2,
    )

    assert result.review_reasons == [
        "avatar_flag",
        "red_flag",
        "patient_requested_human",
        "draft_diagnosis",
        "draft_prescription",
        "low_confidence",
    ]


@pytest.mark.parametrize(("confidence", "held"), [(0.69, True), (0.7, False), (0.99, False), (None, False)])
def test_low_confidence_is_below_the_threshold(confidence, held):
    result = assess(("patient", "hello"), SAFE, confidence=confidence, threshold=0.7)

    assert ("low_confidence" in result.review_reasons) is held
    assert result.hold is held


def test_nothing_to_review_is_released():
    result = assess(("patient", "Is it normal to feel tired at 12 weeks?"), SAFE)

    assert (result.urgency, result.flags, result.review_reasons, result.needs_review, result.hold) == (
        "routine",
        [],
        [],
        False,
        False,
    )


def test_the_routine_sample_is_reviewed_but_not_held():
    result = assess(("patient", "hello"), SAFE, sample_rate=1.0)

    assert (result.review_reasons, result.needs_review, result.hold) == (["routine_sample"], True, False)


def test_the_routine_sample_is_only_drawn_when_nothing_else_applies():
    result = assess(("patient", "I have chest pain"), SAFE, sample_rate=1.0)

    assert result.review_reasons == ["red_flag"]


def test_the_routine_sample_is_deterministic_per_key_and_near_its_rate():
    keys = [f"h1:conv-{i}" for i in range(2000)]

    first = [assess(("patient", "hello"), SAFE, sample_rate=0.1, key=k).needs_review for k in keys]
    again = [assess(("patient", "hello"), SAFE, sample_rate=0.1, key=k).needs_review for k in keys]

    assert first == again
    assert 120 <= sum(first) <= 280  # 10 % of 2000 is 200; ±80 is more than 6 standard deviations


def test_in_routine_sample_edges():
    assert not any(in_routine_sample(f"k{i}", 0.0) for i in range(200))
    assert all(in_routine_sample(f"k{i}", 1.0) for i in range(200))


@pytest.mark.parametrize(
    "text",
    [
        "At the weekend my husband and I went for a walk.",
        "The baby is head down at 38 weeks, is that normal?",
    ],
)
def test_ordinary_sentences_that_look_like_red_flags_do_not_fire(text):
    assert screen_message(text) == []


@pytest.mark.parametrize(
    ("draft", "reasons"),
    [
        ("每次吃2片就可以，一天不超过4次", ["draft_prescription"]),
        ("布洛芬每次1粒就行", ["draft_prescription"]),
        ("You have a urinary tract infection.", ["draft_diagnosis"]),
        ("If you have a fever, or until you have been seen, rest and drink fluids.", []),
    ],
)
def test_draft_guard_reads_chinese_doses_and_tells_advice_from_diagnosis(draft, reasons):
    assert guard_draft(draft) == reasons
