"""Identifier scrubbing (DESIGN §6): pure, no database."""

import json
from pathlib import Path

import pytest

from reviews.scrub import scrub_identifiers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese mobiles, bare, with +86/0086 and written in groups.
        ("请打我电话13800138000，谢谢", "请打我电话[phone]，谢谢"),
        ("my number is +86 138 0013 8000.", "my number is [phone]."),
        ("+8613912345678", "[phone]"),
        ("0086 13800138000", "[phone]"),
        ("手机号138-0013-8000，麻烦回电", "手机号[phone]，麻烦回电"),
        # Landlines with an area code.
        ("Call the office on 010-12345678 tomorrow", "Call the office on [phone] tomorrow"),
        ("座机(021) 6123 4567", "座机[phone]"),
        ("0755 8888 6666 is my home phone", "[phone] is my home phone"),
        # International numbers.
        ("I'm in London: +44 20 7946 0958", "I'm in London: [phone]"),
        ("US cell (+1) 415-555-0100 works", "US cell [phone] works"),
        # A short local number only where a phone word says so.
        ("tel 555-0199 after six", "tel [phone] after six"),
        # E-mail addresses.
        ("write to li.wei+clinic@example.com.cn please", "write to [email] please"),
        ("发到我邮箱mama2024@example.com吗", "发到我邮箱[email]吗"),
        # Chinese resident ID numbers, also ending in X, and passports.
        ("我的身份证号是11010519491231002X，帮我查", "我的身份证号是[id-number]，帮我查"),
        ("ID number 110105199003071239.", "ID number [id-number]."),
        ("passport E12345678 expires soon", "passport [id-number] expires soon"),
        ("护照号PA1234567", "护照号[id-number]"),
        # Addresses.
        ("I live at 221 Baker Street, London.", "I live at [address], London."),
        ("Come to 12 Oak Rd. tomorrow", "Come to [address] tomorrow"),
        ("北京市朝阳区建国路88号", "[address]"),
        ("地址：上海市浦东新区世纪大道100号3单元502室", "地址：[address]"),
        ("地址：北京市海淀区中关村南大街5号2号楼", "地址：[address]"),
        # Forms the property tests found or generate: full-width digits, other groupings and
        # prefixes, numbers spelt in Chinese, extensions, Hong Kong IDs, permits, bank cards.
        ("手机１３８００１３８０００", "手机[phone]"),
        ("手机号：1380 013 8000。", "手机号：[phone]。"),
        ("Berlin: +49 151 12345678", "Berlin: [phone]"),
        ("(US) +1 (415) 555-0100; UK +44 (0)20 7946 0958", "(US) [phone]; UK [phone]"),
        ("+1300 000 0000", "[phone]"),
        ("from China dial 0044 20 7946 0958", "from China dial [phone]"),
        ("我的电话是一三八零零一三八零零零。", "我的电话是[phone]。"),
        ("办公室010-6512 3456 转 8021", "办公室[phone]"),
        ("香港身份证A123456(7)", "香港身份证[id-number]"),
        ("回乡证H1234567890", "回乡证[id-number]"),
        ("身份证 110105 19900307 123X", "身份证 [id-number]"),
        ("卡号6222 0212 3456 7890 123", "卡号[id-number]"),
        ("MAIL ME: LI.Wei+Clinic@Example.COM.CN!", "MAIL ME: [email]!"),
        ("Flat 3, 12 Baker Street", "[address]"),
        ("221B Baker St. Dr Li knows it", "[address] Dr Li knows it"),
        ("我住在阳光小区5栋2单元301，发烧", "我住在[address]，发烧"),
        ("我住在3栋2单元501室", "我住在[address]"),
        ("上海市徐汇区漕溪北路1200弄5号", "[address]"),
        # Only after a cue word: local numbers, record numbers, chat handles.
        ("my phone number is 555-0199", "my phone number is [phone]"),
        ("病历号 20231234", "病历号 [id-number]"),
        ("微信 liwei_1990", "微信 [account]"),
        ("加我QQ 12345678", "加我QQ [account]"),
    ],
)
def test_identifiers_are_replaced(text, expected):
    assert scrub_identifiers(text) == expected


def test_every_kind_of_identifier_in_one_message():
    text = (
        "Dr, this is for my wife: mobile 13800138000, e-mail wife@example.org, "
        "ID 110105199003071239, passport G1234567, we live at 5 Park Lane, Leeds."
    )

    scrubbed = scrub_identifiers(text)

    assert scrubbed == (
        "Dr, this is for my wife: mobile [phone], e-mail [email], ID [id-number], passport [id-number], "
        "we live at [address], Leeds."
    )


@pytest.mark.parametrize(
    "text",
    [
        "Fever of 38.5°C since Monday",
        "Take it 3 times a day for 2 weeks",
        "I took 500 mg of paracetamol at 10:30",
        "体温38.5度，每天3次，每次500毫克，已经2周了",
        "I'm 32 weeks pregnant and weigh 65 kg",
        "BP 150/100, heart rate 110, sugar 7.8 mmol/L, HbA1c 6.5%",
        "Born in 1990; last period on 2024-03-15",
        "怀孕32周，宝宝估重3500克，胎心140次/分",
        "My son is 2 years old and has had 3 falls this week",
        "I took 2 pills on the way to work and walked 3 miles down the road",
        "platelets 150000, WBC 12.5",
        "call 120 if it gets worse",
        "2024年3月15日开始咳嗽，10天了",
        # Near-misses of the identifier patterns.
        "She had 2 Head CT scans and 1 MRI",
        "Seen at 10:30 Monday Dr Li said, and on 2 Friday Dr Wang agreed",
        "call me at 5pm, or wechat me please",
        "ID 2 weeks ago; tel. 2",
        "孕32+4周，+3 kg since 2019, HbA1c 6.5% (+0.3)",
        "20号3楼做B超",
        "我们小区很多人发烧",
        "Readings 2019 2020 2021 2022 were all fine",
        "Hb 13.5 12.8 14.2 over three days",
        "BP 140/90 at 14:30 on 2026-11-20, ¥1,299.00 paid",
        "体温３８．５度，每天３次",
        "platelets 150000, hCG 120000, red cell 4500000",
    ],
)
def test_ordinary_numbers_survive(text):
    assert scrub_identifiers(text) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("我今天胸口痛得厉害我家在建国路88号", "我今天胸口痛得厉害"),
        ("宝宝发烧39度住在朝阳区建国路88号2号楼301室", "宝宝发烧39度"),
    ],
)
def test_an_address_does_not_swallow_the_symptoms_written_before_it(text, kept):
    """Triage reads the scrubbed text: an address must not take the patient's words with it."""
    scrubbed = scrub_identifiers(text)

    assert scrubbed.startswith(kept)
    assert scrubbed.endswith("[address]")
    assert "建国路88号" not in scrubbed


def test_scrubbing_is_idempotent():
    once = scrub_identifiers("call 13800138000 or mail a@b.cn, ID 11010519491231002X, 221 Baker Street")

    assert scrub_identifiers(once) == once


# The triage helper's copies of the shared labelled sets (../shared/data): real patient
# phrasing, in both languages. The dev set lists the identifiers each message holds.
DATA = Path(__file__).parent / "data"


def labelled(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_messages_lose_their_identifiers_and_nothing_else():
    items = labelled("triage_dev.jsonl")
    assert sum(bool(item["identifiers"]) for item in items) >= 5
    for item in items:
        scrubbed = scrub_identifiers(item["text"])
        for identifier in item["identifiers"]:
            assert identifier not in scrubbed, item["id"]
        if not item["identifiers"]:
            assert scrubbed == item["text"], item["id"]
    # The hold-out set has no identifiers: every figure in it is clinical, and stays.
    for item in labelled("triage_holdout.jsonl"):
        assert scrub_identifiers(item["text"]) == item["text"], item["id"]
