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
        ("打完针舌头肿了", "anaphylaxis", "emergency", "舌头肿了"),
        ("I've soaked through pads every hour", "severe_bleeding", "emergency", "soaked through pads"),
        ("There is heavy bleeding after my fall", "severe_bleeding", "emergency", "heavy bleeding"),
        ("手割破了，血止不住", "severe_bleeding", "emergency", "血止不住"),
        ("I'm 10 weeks pregnant and bleeding", "pregnancy_bleeding", "urgent", "bleeding"),
        ("怀孕12周，今天见红了", "pregnancy_bleeding", "urgent", "见红"),
        ("I'm 34 weeks and the baby is moving less today", "reduced_fetal_movement", "urgent", "baby is moving less"),
        ("孕36周，胎动减少了", "reduced_fetal_movement", "urgent", "胎动减少"),
        ("I just want to kill myself", "suicidal", "emergency", "want to kill myself"),
        ("我真的不想活了", "suicidal", "emergency", "不想活"),
        ("My 6-week-old is at 38.4°C", "infant_fever", "urgent", "38.4°C"),
        ("宝宝2个月，发烧38.5度", "infant_fever", "urgent", "发烧"),
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


@pytest.mark.parametrize(
    ("text", "rule_id", "urgency"),
    [
        # Indirect, colloquial and misspelt.
        ("my dad went grey and says his chest feels like an elephant is sitting on it", "chest_pain", "emergency"),
        ("ive got a bad chest pian and cant get my brething right", "chest_pain", "emergency"),
        ("老公心口像被石头压着一样疼，出了一身冷汗", "chest_pain", "emergency"),
        ("wife cant speak properly all of a sudden and her smile is all lopsided", "stroke_signs", "emergency"),
        ("我爸吃着饭突然手里的碗掉了，脸一边往下垂", "stroke_signs", "emergency"),
        ("Sudden worst headache of my life, like being hit with a bat", "thunderclap_headache", "emergency"),
        ("she's using her tummy muscles to breathe and can't talk", "breathing", "emergency"),
        ("宝宝被奶呛到了，脸憋得通红发紫", "breathing", "emergency"),
        ("Ate prawns at dinner, now hives and my throat is tight", "anaphylaxis", "emergency"),
        ("I gave birth 2 days ago and I'm passing clots the size of my fist", "severe_bleeding", "emergency"),
        ("一小时就湿透了两片卫生巾", "severe_bleeding", "emergency"),
        ("found my flatmate on the floor, he won't respond at all", "unconscious", "emergency"),
        ("奶奶突然倒在地上，怎么叫都叫不醒", "unconscious", "emergency"),
        ("I've decided tonight is the night, I've got the rope ready", "suicidal", "emergency"),
        ("活着没有意义，我已经买好了安眠药，今晚就结束一切", "suicidal", "emergency"),
        ("I keep thinking my family would be better off if I wasn't around", "suicidal_thoughts", "urgent"),
        ("最近总觉得自己是家里的累赘", "suicidal_thoughts", "urgent"),
        ("Son swallowed a button battery from the remote", "overdose", "emergency"),
        ("我吃了半瓶安眠药", "overdose", "emergency"),
        ("purple spots on his legs that don't fade when I press a glass on them", "non_blanching_rash", "emergency"),
        ("My 20-month-old had a febrile seizure an hour ago, awake now", "seizure_recent", "urgent"),
        ("这个星期癫痫已经发作三次了，平时一个月一次", "epilepsy_worse", "urgent"),
        ("Fell off my bike and was knocked out, I keep forgetting what happened", "head_injury_serious", "emergency"),
        ("孩子从床上摔下来磕到头，之后吐了两次", "head_injury", "urgent"),
        ("我在吃华法林，今天磕到头了", "head_injury_anticoagulated", "urgent"),
        ("I'm on apixaban and I've been peeing blood since yesterday", "bleeding_on_anticoagulant", "urgent"),
        ("For two days my stools have been black and sticky", "gi_bleeding", "urgent"),
        ("我爸有肝硬化，刚才吐了一大口血", "vomiting_blood", "emergency"),
        (
            "Pain started around my belly button and has moved to the lower right side",
            "severe_abdominal_pain",
            "urgent",
        ),
        ("突然腰背和肚子撕裂一样剧痛", "aortic_tearing_pain", "emergency"),
        ("My blood pressure was 190/115 this morning", "severe_hypertension", "urgent"),
        ("Fever of 39.4 and shaking uncontrollably with a kidney infection", "infection_systemic", "urgent"),
        ("奶奶尿路感染，烧到39.5，糊涂不认人", "sepsis", "emergency"),
        ("My 18 month old hasn't had a wet nappy since this morning", "child_dehydration", "urgent"),
        ("baby is 10 days old, very yellow and hardly feeding", "young_infant_unwell", "urgent"),
        # Pregnancy: the sign and the pregnancy can be far apart, in either language or both.
        ("16 weeks pregnant and I've noticed some red spotting since this morning", "pregnancy_bleeding", "urgent"),
        ("baby's movements have really slowed down since yesterday, I'm 38 weeks", "reduced_fetal_movement", "urgent"),
        ("孕26周，感觉宝宝一天都没动", "reduced_fetal_movement", "urgent"),
        ("我 30 周了, waters broke 一直在流", "waters_breaking_early", "urgent"),
        ("孕29周，肚子一阵一阵发紧，差不多每10分钟一次", "preterm_labour", "urgent"),
        ("my wife 孕34周 突然 headache 很厉害，眼睛看不清", "preeclampsia_signs", "urgent"),
        ("35周了，在家量血压150/100，有点headache", "preeclampsia_signs", "urgent"),
        ("怀孕7周，右下腹剧烈疼痛，肩膀尖也疼", "ectopic_signs", "emergency"),
        (
            "34 weeks, sudden gush of blood and my bump is rock hard and painful",
            "placental_abruption_signs",
            "emergency",
        ),
        ("Had my baby 8 days ago, fever of 38.6 and the bleeding smells really bad", "postpartum_infection", "urgent"),
        ("宝宝 7 weeks, fever 38.3 since this morning", "infant_fever", "urgent"),
        ("ＭＹ ＢＡＢＹ ＩＳ ６ ＷＥＥＫＳ ＯＬＤ ＷＩＴＨ Ａ ＦＥＶＥＲ", "infant_fever", "urgent"),
    ],
)
def test_colloquial_indirect_misspelt_and_mixed_messages_raise_the_right_rule(text, rule_id, urgency):
    flags = {flag.rule_id: flag for flag in screen_message(text)}

    assert rule_id in flags, [f.rule_id for f in flags.values()]
    flag = flags[rule_id]
    assert flag.urgency == urgency
    assert text[flag.start : flag.end] == flag.matched_text


@pytest.mark.parametrize(
    "text",
    [
        # Negated, in either language, close to or a little before the sign.
        "I don't have any thoughts of hurting myself or the baby, I just feel flat.",
        "No headaches or chest pain, I feel fine.",
        "I didn't overdose or anything, I took my multivitamin twice.",
        "我没有想不开，就是最近失眠",
        "孕38周，没见红也没破水",
        "没有胸痛胸闷，就是饭后反酸",
        "宝宝4个月，不发烧，精神很好",
        "Not pregnant. I had a little spotting after my smear test.",
        # Someone else's or a past event.
        "My father had a stroke in 2012 and recovered well.",
        "Two years ago I had a miscarriage with heavy bleeding.",
        "小时候发烧抽过一次筋，现在28岁了",
        "我表姐怀孕的时候大出血，我会不会也这样",
        "My dad had a stroke last year and now has trouble swallowing.",
        # General and hypothetical questions.
        "What should I do if my toddler ever has a fit?",
        "孕妇出现哪些情况需要马上去医院？比如见红、破水这些怎么判断？",
        "孕妇见红一般是什么原因",
        "Can stress cause chest tightness?",
        "小孩发烧抽搐应该怎么处理？提前学习一下",
        # Look-alikes: chest-wall pain, heat stroke, leg cramps, a stuffy nose, breast engorgement.
        "My chest hurts when I press on it after the gym yesterday.",
        "Is heat stroke dangerous for toddlers?",
        "孕晚期晚上睡觉老是腿抽筋",
        "I can't breathe through my nose with this cold.",
        "喂奶期间胸部胀痛，是堵奶吗",
        "最近压力大，胸口偶尔闷一下，深呼吸就好了",
        "宝宝出生第6天，黄疸是11，医生说不用照光",
    ],
)
def test_negated_past_hypothetical_and_look_alike_mentions_raise_no_flag(text):
    assert screen_message(text) == []


def test_a_resolved_episode_gets_the_urgent_rule_not_the_emergency_one():
    resolved = screen_message("Yesterday I had chest pain for 20 minutes walking uphill. It went off when I sat down.")
    ongoing = screen_message("I've had chest pain for 20 minutes and I'm sweating.")

    assert [(f.rule_id, f.urgency) for f in resolved] == [("chest_pain_recent", "urgent")]
    assert [(f.rule_id, f.urgency) for f in ongoing] == [("chest_pain", "emergency")]


def test_a_rule_needs_its_context_in_the_message():
    assert screen_message("宝宝两个月大，发烧38.3度")[0].rule_id == "infant_fever"
    assert screen_message("孩子8岁，发烧38.3度，精神挺好") == []
    assert [f.rule_id for f in screen_message("I'm 12 weeks pregnant and bleeding")] == ["pregnancy_bleeding"]
    assert screen_message("I'm bleeding a little from a cut on my finger") == []


def test_spans_point_into_the_original_text_even_when_it_is_full_width_or_mixed_case():
    text = "ＣＨＥＳＴ ＰＡＩＮ since lunch"

    [flag] = screen_message(text)

    assert (flag.rule_id, flag.matched_text) == ("chest_pain", "ＣＨＥＳＴ ＰＡＩＮ")
    assert text[flag.start : flag.end] == flag.matched_text


def test_every_flag_records_the_rules_file_version():
    assert RULES_VERSION and RULES_VERSION != "builtin-3"
    assert {f.rules_version for f in screen_message("Chest pain and I can't breathe")} == {RULES_VERSION}


def test_triage_flags_carry_the_rules_description_for_the_doctor():
    result = assess(("patient", "我胸口痛了一个小时"), SAFE)

    [flag] = result.flags
    assert flag["reason"].startswith("Chest pain")
    assert flag["reason_zh"].startswith("当前胸痛")
    assert (flag["rule_id"], flag["rules_version"]) == ("chest_pain", RULES_VERSION)


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
        ("reduced_fetal_movement", "urgent"),
        ("meningitis", "emergency"),
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
