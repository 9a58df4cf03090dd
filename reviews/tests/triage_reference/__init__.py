"""A frozen copy of the red-flag screen (`reviews/triage`: anchors.py, rules.py, red_flags.py)
as it was before it was made faster, for `test_triage_equivalence.py`. Do not edit: it reads
the live rules.toml, so the test holds the screen's code, not its rules, to the old answers."""
