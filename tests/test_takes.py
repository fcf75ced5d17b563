"""The `takes` shot field and take keys: take 1 is today's shot, take n covers n,
`takes` itself moves no key, and each take has its own Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from engine_fakes import make_shot

from shotbuild.build.jobs import idempotency_key as engine_idempotency_key
from shotbuild.keys import key_of, request_of, shot_keys
from shotbuild.spec import check_file, load_spec
from shotbuild.spec.schema import schema
from shotbuild.takes import MAX_TAKE_NUMBER, idempotency_key, take_key, take_keys

SHOT_KEY = hashlib.sha256(b"some inputs").hexdigest()


def spec_text(takes: str | None = None, default: str | None = None) -> str:
    text = "version: 1\n"
    if default is not None:
        text += f"defaults:\n  takes: {default}\n"
    text += "shots:\n  a:\n    prompt: A walk.\n    avatar_id: [look_1]\n"
    return text + (f"    takes: {takes}\n" if takes is not None else "")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shots.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "6:12: takes: must be from 1 to 10 (found 0)"),
        ("11", "6:12: takes: must be from 1 to 10 (found 11)"),
        ('"3"', '6:12: takes: must be a whole number, not "3" (a string)'),
        ("true", "6:12: takes: must be a whole number, not true (a boolean)"),
        ("2.5", "6:12: takes: must be a whole number, not 2.5 (a number)"),
    ],
)
def test_bad_takes_are_errors_with_line_and_column(
    tmp_path: Path, value: str, message: str
) -> None:
    problems = [str(p) for p in check_file(write(tmp_path, spec_text(value)))]
    assert len(problems) == 1 and problems[0].endswith(message), problems


def test_bad_takes_under_defaults_point_at_defaults(tmp_path: Path) -> None:
    problems = [str(p) for p in check_file(write(tmp_path, spec_text(default="0")))]
    assert len(problems) == 1 and problems[0].endswith(
        "3:10: takes: must be from 1 to 10 (found 0)"
    )


def test_takes_default_to_1_come_from_defaults_and_the_shot_wins(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, spec_text())).shots[0].takes == 1
    assert load_spec(write(tmp_path, spec_text(default="4"))).shots[0].takes == 4
    assert load_spec(write(tmp_path, spec_text("10", default="4"))).shots[0].takes == 10


def test_the_schema_describes_takes() -> None:
    takes = schema()["$defs"]["shot"]["properties"]["takes"]
    assert takes["title"] == "Takes" and "1-10" in takes["description"]
    assert (takes["type"], takes["minimum"], takes["maximum"], takes["default"]) == (
        "integer",
        1,
        10,
        1,
    )
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "| `takes` | integer, 1-10 | `1` |" in readme


def test_takes_is_not_in_the_key(tmp_path: Path) -> None:
    one = load_spec(write(tmp_path, spec_text()))
    three = load_spec(write(tmp_path, spec_text("3")))
    assert shot_keys(one, "https://api.heygen.com", str) == shot_keys(
        three, "https://api.heygen.com", str
    )
    shot = make_shot("a")
    request = request_of(shot.replace(takes=7), tmp_path, str)
    assert "takes" not in request and request == request_of(shot, tmp_path, str)


def test_take_1_is_the_shot_key_and_take_n_covers_n() -> None:
    assert take_key(SHOT_KEY, 1) == SHOT_KEY
    keys = take_keys(SHOT_KEY, 10)
    assert keys[1] == SHOT_KEY and len(set(keys.values())) == 10
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys.values())
    assert take_key(SHOT_KEY, 2) != take_key("f" * 64, 2)  # and the inputs
    doc = {"shot": SHOT_KEY, "take": 2, "v": 1}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    assert take_key(SHOT_KEY, 2) == hashlib.sha256(text.encode()).hexdigest()  # pinned
    for bad in (0, -1, MAX_TAKE_NUMBER + 1):
        with pytest.raises(ValueError, match="a take number is from 1 to 999"):
            take_key(SHOT_KEY, bad)


def test_idempotency_keys_are_todays_for_take_1_and_shared_between_machines() -> None:
    for attempt in (1, 2, 5):
        engine = engine_idempotency_key(SHOT_KEY, attempt, forced=False)
        assert idempotency_key(SHOT_KEY, attempt) == engine
    assert idempotency_key(SHOT_KEY, 1) == f"shotbuild-{SHOT_KEY[:40]}-1"
    second = idempotency_key(take_key(SHOT_KEY, 2), 1)
    assert second == idempotency_key(take_key(SHOT_KEY, 2), 1)  # another machine, same take
    assert second != idempotency_key(SHOT_KEY, 1) and second.startswith("shotbuild-")
    assert len(second) <= 64


def test_key_of_the_backend_is_unchanged_by_takes() -> None:
    shot = make_shot("a")
    assert key_of("b", request_of(shot, Path("."), str)) == key_of(
        "b", request_of(shot.replace(takes=3), Path("."), str)
    )
