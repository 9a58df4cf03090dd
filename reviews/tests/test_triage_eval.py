"""`manage.py triage_eval`: figures, misses, predictions, and clear errors for bad files."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reviews.triage.red_flags import RULES_VERSION


def write(path, *rows) -> str:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n" for row in rows)
    )
    return str(path)


def run(*args) -> str:
    out = StringIO()
    call_command("triage_eval", *args, stdout=out)
    return out.getvalue()


LABELLED = [
    {"id": "a", "text": "I have crushing chest pain", "urgency": "emergency"},
    {"id": "b", "text": "孕36周，胎动减少了", "urgency": "urgent"},
    {"id": "c", "text": "My leg has felt odd all week", "urgency": "urgent"},  # a miss
    {"id": "d", "text": "Can I eat sushi while pregnant?", "urgency": "routine"},
    {"id": "e", "text": "No chest pain, just heartburn", "urgency": "routine", "negated": True},
    {"id": "f", "text": "I can't breathe after the gym", "urgency": "soon"},  # a false alarm
]


def test_labelled_file_reports_recall_precision_accuracy_cost_and_every_miss_by_id(tmp_path):
    out = run(write(tmp_path / "set.jsonl", *LABELLED))

    assert f"Rules {RULES_VERSION}: 6 messages, 6 labelled." in out
    assert "recall 0.667 (2/3), precision 0.667 (2/3)" in out
    assert "Exact urgency: 0.667 (4/6)" in out
    assert "µs of CPU per message" in out
    assert "Emergencies not held: 0. Negated or past mentions held: 0." in out
    assert "  c: labelled urgent, screened routine (no flag)" in out
    assert "  f: labelled soon, screened emergency (breathing)" in out
    assert "  a:" not in out


def test_predictions_file_has_one_line_per_input_in_order(tmp_path):
    predictions = tmp_path / "out.jsonl"

    run(write(tmp_path / "set.jsonl", *LABELLED), "--predictions", str(predictions))

    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c", "d", "e", "f"]
    assert lines[0] == {"id": "a", "urgency": "emergency", "flags": ["chest_pain"]}
    assert lines[1] == {"id": "b", "urgency": "urgent", "flags": ["reduced_fetal_movement"]}
    assert lines[3] == {"id": "d", "urgency": "routine", "flags": []}


def test_unlabelled_input_gives_predictions_only(tmp_path):
    predictions = tmp_path / "out.jsonl"
    source = write(tmp_path / "set.jsonl", {"id": 7, "text": "我胸口痛"}, {"id": "x", "text": "hello"})

    out = run(source, "--predictions", str(predictions))

    assert "2 messages, 0 labelled" in out
    assert "No labels: predictions only." in out
    assert "recall" not in out
    assert [json.loads(line)["id"] for line in predictions.read_text().splitlines()] == ["7", "x"]


def test_messages_are_scrubbed_before_they_are_screened_as_ingest_does(tmp_path):
    predictions = tmp_path / "out.jsonl"
    # The scrubbed text is what ingest stores and screens; an identifier never raises a flag.
    source = write(tmp_path / "set.jsonl", {"id": "p", "text": "Call me on 138 0013 8000, chest pain since noon"})

    run(source, "--predictions", str(predictions))

    assert json.loads(predictions.read_text()) == {"id": "p", "urgency": "emergency", "flags": ["chest_pain"]}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "text": "ok"}', "{not json"], r"line 2: not valid JSON"),
        (['{"id": "a", "text": "ok"}', '{"text": "no id"}'], r"line 2: missing id"),
        (['{"id": "a"}'], r"line 1: missing text"),
        (['{"id": "a", "text": 5}'], r"line 1: missing text"),
        (['["a", "b"]'], r"line 1: expected a JSON object"),
        (['{"id": "a", "text": "x"}', '{"id": "a", "text": "y"}'], r"line 2: id 'a' appears twice"),
        (['{"id": "a", "text": "x", "urgency": "critical"}'], r"line 1: urgency must be one of"),
        (["", "  "], r"no messages"),
    ],
)
def test_a_bad_file_is_a_clear_error_with_the_line_and_exit_code_2(tmp_path, lines, message):
    source = write(tmp_path / "bad.jsonl", *lines)

    with pytest.raises(CommandError, match=message) as raised:
        run(source)

    assert raised.value.returncode == 2


def test_a_missing_file_is_a_clear_error_with_exit_code_2(tmp_path):
    with pytest.raises(CommandError, match="no such file") as raised:
        run(str(tmp_path / "missing.jsonl"))

    assert raised.value.returncode == 2


def test_an_unwritable_predictions_path_is_a_clear_error(tmp_path):
    source = write(tmp_path / "set.jsonl", {"id": "a", "text": "hello"})

    with pytest.raises(CommandError, match="cannot be written") as raised:
        run(source, "--predictions", str(tmp_path / "no-such-dir" / "out.jsonl"))

    assert raised.value.returncode == 2
