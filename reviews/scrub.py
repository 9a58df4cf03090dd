"""Identifier scrubbing: replace what could identify a patient before anything is stored.

Every message goes through `scrub_identifiers` at ingest, before triage reads it, before
it is stored and before anything could log it (DESIGN §3, §6). Phone numbers become
`[phone]`, e-mail addresses `[email]`, ID, passport and card numbers `[id-number]`,
street addresses `[address]` and chat handles `[account]`. Doses, dates, temperatures,
weeks of pregnancy and the like stay exactly as written: a doctor needs them.

Order matters: e-mail addresses go first (a local part may be a mobile number), ID
numbers before phone numbers (whose patterns would otherwise take part of one), the
patterns that need a cue word ("tel", "微信", "病历号") last, on what is left.

Every pattern runs in linear time, whatever the input: its repetitions are bounded,
atomic or possessive, so the engine tries a fixed number of ways to match at one position,
and where a repetition is unbounded the pattern starts only where a run of its characters
starts (a lookbehind that fails inside the run), so no run is read twice.
`reviews/tests/test_scrub_properties.py` feeds it adversarial input of the API's longest body.
"""

import re
from collections.abc import Callable

# One separator inside a number, as people write them: space, dash, dot, the full-width
# forms a Chinese keyboard produces, and the non-breaking and ideographic spaces.
_SEP = r"[ \-.\u00a0\u2009\u202f\u3000\u2010-\u2015\uff0d\uff0e]"
# `\d` is any Unicode decimal digit, the full-width ０–９ included; literal digits in the
# patterns below take their full-width form too.
_D = r"\d"
_0, _1 = "[0０]", "[1１]"

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++[@＠][A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)++")

# Chinese resident identity card (6-digit area, 8-digit birth date, 3 digits, check digit
# or X), contiguous or grouped 6-8-4 / 6-4-4-4; the old 15-digit card; bank cards (16–19
# digits, or four groups of four). No ordinary figure in a patient's message is that long.
_ID_NUMBER = re.compile(
    rf"(?=\d)(?<!\d)(?:"
    rf"{_D}{{6}}{_SEP}?{_D}{{8}}{_SEP}?{_D}{{3}}[{_D}Xx]"
    rf"|{_D}{{6}}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}{_SEP}{_D}{{3}}[{_D}Xx]"
    rf"|{_D}{{16,19}}"
    rf"|[1-9１-９]{_D}{{14}}"
    rf"|[3-6３-６]{_D}{{3}}(?:{_SEP}{_D}{{4}}){{3}}(?:{_SEP}?{_D}{{1,3}})?"
    rf")(?!\d)"
)
# Hong Kong identity card A123456(7), Macau 1234567(8).
_HK_MACAU_ID = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{1,2}\d{6}|[1578]\d{6})[(（][\dA][)）]")
# Passport-like: one or two letters and 7–10 digits: passports E12345678, G1234567, PA1234567,
# Home Return Permits H12345678 (H1234567890), Hong Kong/Macau permits C12345678, Taiwan IDs A123456789.
_PASSPORT = re.compile(r"(?=[A-Za-z])(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{7,10}(?!\d)")

# Chinese mobile numbers, optionally after +86 / 0086 / (+86) / 86, contiguous or written
# in the groupings people use: 138 0013 8000, 1380 013 8000, 1380013 8000, 138 00138000.
# Any country code is taken with it: a German mobile (+49 151 12345678) has the same shape.
_CN_MOBILE = re.compile(
    # Not right after a "+": in +1300 000 0000 the 1 is a country code.
    rf"(?=[\d+＋(（])(?<![\d+＋])"
    rf"(?:(?:(?:[+＋]|{_0}{_0})[ \u3000]?{_D}{{1,3}}|[(（][+＋]?{_D}{{1,3}}[)）]|[8８][6６]){_SEP}?)?"
    rf"{_1}[3-9３-９]{_D}(?:{_D}{{8}}|{_SEP}{_D}{{4}}{_SEP}?{_D}{{4}}|{_D}{_SEP}{_D}{{3}}{_SEP}{_D}{{4}}"
    rf"|{_D}{{4}}{_SEP}{_D}{{4}}|{_SEP}{_D}{{3}}{_SEP}{_D}{{5}})(?!\d)"
)
# The same, spelt in Chinese numerals (一三八零零一三八零零零, 幺三八…).
_ZH_NUMERAL = "[零〇一二三四五六七八九幺两]"
_CN_MOBILE_IN_NUMERALS = re.compile(
    rf"(?<!{_ZH_NUMERAL})[一幺][三四五六七八九](?:[ \-]?{_ZH_NUMERAL}){{9}}(?!{_ZH_NUMERAL})"
)
# International numbers: +44 20 7946 0958, (+1) 415-555-0100, +1 (415) 555-0100, 0044 20…
# Counted in `_international` below: 7 to 15 digits, as E.164 allows. A country code never
# starts with 0, and a "00" right after a digit and a separator is the middle of a number
# written in groups (010 2000 0013-123), not an international prefix.
_INTL_PHONE = re.compile(
    rf"(?=[+＋(（0０])"
    rf"(?:[(（][+＋]{_D}{{1,3}}[)）]|[+＋][ \u3000]?{_D}{{1,3}}|(?<!\d)(?<!\d{_SEP}){_0}{_0}[1-9１-９]{_D}{{0,2}})"
    rf"(?:{_SEP}?(?:[(（]{_D}{{1,4}}[)）]|{_D}++)){{1,6}}+"
)
# Landlines with an area code: 010-12345678, (021) 6123 4567, 0755 8888 6666, 010-6512 3456 转 8021.
_LANDLINE = re.compile(
    rf"(?=[(（0０])(?<!\d)(?:[(（]{_0}{_D}{{2,3}}[)）]|{_0}{_D}{{2,3}}){_SEP}?{_D}{{3,4}}{_SEP}?{_D}{{4}}"
    rf"(?:[ \u3000]?(?:转|分机|(?i:ext)\.?|x|#|-)[ \u3000]?{_D}{{1,5}})?(?!\d)"
)

# Street addresses: "Flat 3, 12 Baker Street", "221B Baker St.", "Apt 4B, 350 Fifth Avenue".
# The street name must be capitalised: a lower-case one would also take "2 pills on the
# way" and "3 miles down the road", erasing doses and distances a doctor needs. Short
# forms (St, Rd, Dr, Ct) count only as written on an envelope: "2 Head CT scans" is not an address.
_EN_ADDRESS = re.compile(
    # Not the minutes of a time: "0:00 Hello Dr Li".
    r"(?<![A-Za-z0-9])(?<!\d[:：])(?:(?i:flat|apt|apartment|unit|suite|room)\.?[ ]?#?\d{1,5}[A-Za-z]?,?[ ]+)?"
    # The fewest words that end in a street type: "1 Baker Street Dr Li" keeps the doctor.
    r"\d{1,5}[A-Za-z]?(?:-\d{1,5})?[ ]+(?:[A-Z][a-z]++\.?[ ]+){1,3}?"
    r"(?:[Ss]treet|[Rr]oad|[Aa]venue|[Ll]ane|Drive|Boulevard|Way|Court|Place|Square|Terrace|Crescent|Gardens"
    # "Dr" and a name is a doctor: "at 9 Monday Dr Li called".
    r"|Highway|St|Rd|Ave|Ln|Dr(?!\.? [A-Z])|Blvd|Ct|Pl|Sq|Hwy)(?![A-Za-z])\.?"
)

# Chinese addresses: 北京市朝阳区建国路88号3栋2单元501室, 阳光小区5栋2单元301, 漕溪北路1200弄5号.
# Place names are short, and the characters in _NOT_A_PLACE ("在", "住", "我", "痛"…) begin
# no place name: without them a name would run back over the patient's own words when
# they write without punctuation ("我胸口痛得厉害我家在建国路88号"), and triage reads the
# scrubbed text. Each part is atomic and lazy, and there are at most four regions, so one
# position is tried a fixed number of ways. (A region may give way: 阳光小区 is an estate.)
_NOT_A_PLACE = "在住是的了到去从于址我你他她它们这那请说问要想就还也很又把被给让叫吗呢吧啊呀痛疼烧咳吐泻晕痒得厉害"
_PLACE_CHAR = rf"(?:(?![{_NOT_A_PLACE}])[\u4e00-\u9fff])"
_REGION = rf"(?>{_PLACE_CHAR}{{2,5}}?(?:特别行政区|自治区|自治州|自治县|省|市|区|县|州|旗|镇|乡|街道|村))"
_ROAD = rf"(?>{_PLACE_CHAR}{{1,6}}?(?:大街|大道|路|街|巷|胡同))"
_HOUSE = rf"{_D}{{1,5}}(?:[-－]{_D}{{1,5}})?(?:号院|号|弄)"
_ESTATE = rf"(?>{_PLACE_CHAR}{{2,8}}?(?:小区|花园|家园|新村|公寓|大厦|公馆|广场|社区|苑|村|城)|{_PLACE_CHAR}苑)"
_UNIT = rf"{_D}{{1,5}}(?:号楼|栋|幢|座|单元|楼|层|室|号|户|组|房)"
# A bare flat number only straight after a building or entrance (2单元501), where it cannot
# be a temperature or a date that follows the address.
_FLAT = rf"(?<=[栋幢座元楼])[-－]?{_D}{{1,5}}(?!\d|[.．]\d)"
_UNITS = rf"(?:[-－]?{_UNIT}){{1,5}}+(?:{_FLAT})?"
_ZH_ADDRESS = re.compile(
    rf"{_REGION}{{0,4}}(?:{_ROAD}{_HOUSE}(?:{_ESTATE}?{_UNITS})?|{_ESTATE}{_UNITS})"
    # A building and a flat with no street (3栋2单元501室): it must start with a building,
    # or "20号3楼" (the 20th, third floor) would go too.
    rf"|(?<!\d){_D}{{1,5}}(?:号楼|栋|幢|座|单元)(?:[-－]?{_UNIT}){{0,4}}+(?:{_FLAT})?(?<![栋幢座元楼])"
)

# Numbers that need a cue word: a local number ("tel 555-0199", "电话 6123 4567"), a record
# or ID number in any format ("病历号 20231234"), a chat handle ("微信 liwei_1990", "QQ 12345678").
_NUMBER_GROUPS = rf"{_D}{{3,}}+(?:{_SEP}{_D}{{3,}}+){{0,3}}+"
# What may stand between a cue word and its number: "tel. ", "phone number is ", "电话是".
_GLUE = r"(?:[ :：#是为号码.\-]|(?i:is|was|number|no|on|at)\b){0,8}+"
_PHONE_CUE = re.compile(
    # Not "cell" alone: "red cell 4500000" is a count.
    r"(?<![A-Za-z])(?i:telephone|phone|tel|mobile|cell ?phone|cell number|my cell|call me(?: on| at)?|text me"
    r"(?: on| at)?|whatsapp"
    r"|电话|手机号?|座机|联系方式|打我)"
    rf"{_GLUE}(?P<number>{_NUMBER_GROUPS})(?!\d)"
)
_ID_CUE = re.compile(
    r"(?<![A-Za-z])(?i:身份证号?码?|证件号码?|护照号?码?|通行证号?码?|病历号|住院号|就诊卡号|医保卡?号|社保卡?号"
    r"|ID(?: number| no\.?| card)?|passport(?: number| no\.?)?|MRN|medical record(?: number| no\.?)?"
    r"|hospital number)"
    rf"{_GLUE}(?P<number>[A-Za-z0-9][A-Za-z0-9\-]{{4,}}+)"
)
_ACCOUNT_CUE = re.compile(
    rf"(?<![A-Za-z])(?i:微信号?|wechat(?: ?id)?|weixin|QQ号?){_GLUE}"
    r"(?P<number>[A-Za-z][A-Za-z0-9_\-]{5,}+|\d{5,12}(?!\d))"
)


def _digit_count(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _international(match: re.Match) -> str:
    return "[phone]" if 7 <= _digit_count(match.group(0)) <= 15 else match.group(0)


def _cued(placeholder: str, keep: Callable[[str], bool]) -> Callable[[re.Match], str]:
    """Replace the `number` group after a cue word, unless `keep` says it is not an identifier."""

    def replace(match: re.Match) -> str:
        number = match.group("number")
        if keep(number):
            return match.group(0)
        return match.group(0)[: match.start("number") - match.start()] + placeholder

    return replace


# A pattern is only tried on text that has what every one of its matches has: most
# messages have no e-mail address, many no digit, few a house number.
_DIGIT = re.compile(r"\d")
_AT_SIGN = re.compile("[@＠]")
_NUMERALS = re.compile("[一幺][三四五六七八九]")
_HOUSE_NUMBER = re.compile(r"\d(?:号|弄|栋|幢|座|单元|楼|层|室|户|组|房)")

_REPLACEMENTS: list[tuple[re.Pattern, str | Callable[[re.Match], str], re.Pattern | None]] = [
    (_EMAIL, "[email]", _AT_SIGN),
    (_ID_NUMBER, "[id-number]", _DIGIT),
    (_HK_MACAU_ID, "[id-number]", _DIGIT),
    (_PASSPORT, "[id-number]", _DIGIT),
    # Before international numbers, whose "00" prefix would otherwise start inside 138 0013 8000.
    (_CN_MOBILE, "[phone]", _DIGIT),
    (_INTL_PHONE, _international, _DIGIT),
    (_CN_MOBILE_IN_NUMERALS, "[phone]", _NUMERALS),
    (_LANDLINE, "[phone]", _DIGIT),
    (_EN_ADDRESS, "[address]", _DIGIT),
    (_ZH_ADDRESS, "[address]", _HOUSE_NUMBER),
    # "call me at 5pm", "tel. 2": too few digits to be a number anyone could be reached on.
    (_PHONE_CUE, _cued("[phone]", keep=lambda number: _digit_count(number) < 6), _DIGIT),
    # "ID 2 weeks ago": a record number has digits, and more than a count or a year does.
    (_ID_CUE, _cued("[id-number]", keep=lambda number: _digit_count(number) < 5), _DIGIT),
    # "wechat me please": a handle has a digit, underscore or dash among its letters.
    (_ACCOUNT_CUE, _cued("[account]", keep=lambda number: not re.search(r"[\d_\-]", number)), None),
]


def scrub_identifiers(text: str) -> str:
    """Return `text` with phone numbers, e-mail addresses, ID numbers, addresses and handles replaced."""
    for pattern, replacement, hint in _REPLACEMENTS:
        if hint is None or hint.search(text):
            text = pattern.sub(replacement, text)
    return text
