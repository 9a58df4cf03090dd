"""Identifier scrubbing: replace what could identify a patient before anything is stored.

Order matters: resident ID numbers and e-mail addresses are replaced before phone
numbers, whose looser patterns would otherwise eat part of them.
"""

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Chinese resident identity card: 6-digit area, 8-digit birth date, 3 digits, check digit.
_CN_RESIDENT_ID = re.compile(
    r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
# Passport-like: one or two letters followed by 7–9 digits (E12345678, G1234567, PA1234567).
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{7,9}(?![0-9])")
# Chinese mobile numbers, optionally with +86/0086 and separators: 138 0013 8000.
_CN_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?![0-9])")
# International numbers: +44 20 7946 0958, (+1) 415-555-0100.
_INTL_PHONE = re.compile(r"(?:\(\+\d{1,3}\)|\+\d{1,3})[\s\-]?(?:\(?\d{1,4}\)?[\s\-]?){2,5}\d{2,4}(?![0-9])")
# Landlines with an area code: 010-12345678, (021) 6123 4567, 0755 8888 6666.
_LANDLINE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[\s\-]?\d{3,4}[\s\-]?\d{4}(?![0-9])")
# Local numbers written with a separator (555-0199, 6123-4567) after a phone word.
_PHONE_WORD = re.compile(
    r"(?i)(?:phone|tel|telephone|mobile|call me|whatsapp|wechat|电话|手机|微信|联系方式)"
    r"[\s:：是为]*([0-9][0-9\s\-]{6,}[0-9])"
)
# Street addresses: "12 Baker Street", "北京市朝阳区建国路88号".
# The street name must be capitalised: a case-insensitive name would also take "2 pills on
# the way" and "3 miles down the road", erasing doses and distances a doctor needs.
_EN_ADDRESS = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct)\b\.?"
)
# Place names are short (北京市, 朝阳区, 建国路): a long run of any Chinese before 路/街 would
# swallow the patient's own words when they write without punctuation, symptoms included
# ("我胸口痛得厉害我家在建国路88号"), and triage runs on the scrubbed text.
_ZH_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fff]{1,4}(?:省|市|区|县|镇))*[\u4e00-\u9fff]{1,5}(?:路|大街|街|大道|巷|胡同)\d{1,5}号"
    r"(?:[\u4e00-\u9fff0-9]{0,10}(?:室|单元|楼|栋|座))?"
)

_REPLACEMENTS = [
    (_EMAIL, "[email]"),
    (_CN_RESIDENT_ID, "[id-number]"),
    (_PASSPORT, "[id-number]"),
    (_CN_MOBILE, "[phone]"),
    (_INTL_PHONE, "[phone]"),
    (_LANDLINE, "[phone]"),
    (_EN_ADDRESS, "[address]"),
    (_ZH_ADDRESS, "[address]"),
]


def scrub_identifiers(text: str) -> str:
    """Return `text` with phone numbers, e-mail addresses, ID numbers and addresses replaced."""
    for pattern, placeholder in _REPLACEMENTS:
        text = pattern.sub(placeholder, text)
    return _PHONE_WORD.sub(lambda m: m.group(0).replace(m.group(1), "[phone]"), text)
