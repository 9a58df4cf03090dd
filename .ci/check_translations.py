"""Fail when a translatable string of the portal has no Simplified Chinese translation.

Runs makemessages on a scratch copy of the source and compares its message ids with
the committed catalogue, so a new page or message cannot ship in English only.
"""

import ast
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES/django.po")
IGNORED = {".venv", ".git", "staticfiles", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _unquote(quoted: str) -> str:
    """The text of a .po string literal: "a\\nb" is a, newline, b."""
    return ast.literal_eval(quoted) if quoted else ""


def entries(po: Path) -> dict[tuple[str, str], tuple[str, bool]]:
    """{(msgctxt, msgid): (first msgstr, fuzzy)} of a .po file, without the header."""
    found: dict[tuple[str, str], tuple[str, bool]] = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current:
                fields[current] += _unquote(line)
            else:
                key, _, value = line.partition(" ")
                current = key
                fields[key] = _unquote(value)
        if fields.get("msgid"):
            text = fields.get("msgstr", fields.get("msgstr[0]", ""))
            found[(fields.get("msgctxt", ""), fields["msgid"])] = (text, fuzzy)
    return found


def main() -> int:
    committed = entries(ROOT / CATALOGUE)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "src"
        shutil.copytree(ROOT, copy, ignore=lambda _dir, names: [n for n in names if n in IGNORED])
        (copy / CATALOGUE).unlink()
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
            cwd=copy,
            check=True,
            env={"DEBUG": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )
        current = entries(copy / CATALOGUE)
    missing = sorted(msgid for key, msgid in current if (key, msgid) not in committed)
    untranslated = sorted(msgid for (_ctx, msgid), (text, fuzzy) in committed.items() if not text or fuzzy)
    for msgid in missing:
        print(f"not in the catalogue: {msgid!r}")
    for msgid in untranslated:
        print(f"untranslated or fuzzy: {msgid!r}")
    if missing or untranslated:
        print(f"{len(missing)} new, {len(untranslated)} untranslated: run `make messages`, translate, commit.")
        return 1
    print(f"zh-hans catalogue complete: {len(current)} strings.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
