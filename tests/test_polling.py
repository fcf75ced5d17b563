"""The poll schedule: poll times, how late a render of any length is seen, the cap,
and the timer on an injected clock."""

from __future__ import annotations

import itertools
import math

import pytest

from shotbuild.polling import (
    DEFAULT,
    PollSchedule,
    PollTimer,
    next_delay,
    poll_times,
    seen_at,
    worst_ratio,
)


def test_first_poll_at_once_then_at_two_seconds_then_geometric() -> None:
    times = list(itertools.islice(DEFAULT.times(), 5))
    assert times[:2] == [0.0, 2.0]
    assert times[2:] == pytest.approx([2.24, 2.5088, 2.809856])


def test_next_delay_by_age() -> None:
    assert next_delay(0.0) == 2.0
    assert next_delay(0.5) == 1.5  # a poll that came late still lands the second at 2 s
    assert next_delay(10.0) == pytest.approx(1.2)
    assert next_delay(100.0) == pytest.approx(12.0)


def test_the_wait_is_capped_far_out() -> None:
    assert next_delay(249.0) == pytest.approx(29.88)
    assert next_delay(250.0) == 30.0  # PRODUCT.md: "about 2 s up to 30 s"
    assert next_delay(86_400.0) == 30.0


@pytest.mark.parametrize(
    ("length", "seen", "polls"), [(2.0, 2.0, 2), (2.05, 2.24, 3), (2.3, 2.5088, 4)]
)
def test_seen_at(length: float, seen: float, polls: int) -> None:
    at, count = DEFAULT.seen_at(length)
    assert at == pytest.approx(seen)
    assert count == polls


def test_no_render_from_two_seconds_to_ten_minutes_is_seen_more_than_12_percent_late() -> None:
    worst, where = DEFAULT.worst_ratio(2.0, 600.0)
    assert worst == pytest.approx(1.12)
    assert worst <= 1.15
    for length in (2.0, 2.05, 2.5, 5.0, 10.0, 30.0, 61.7, 300.0, 599.0):
        assert seen_at(DEFAULT.delay, length)[0] / length <= worst + 1e-9
    assert 2.0 <= where <= 600.0


def test_a_ten_minute_render_takes_about_fifty_polls() -> None:
    _, polls = DEFAULT.seen_at(600.0)
    floor = math.log(300) / math.log(1.15)  # any length-blind schedule within 15 %
    assert floor < polls <= 60


def test_the_old_schedule_is_far_from_ideal_for_short_renders() -> None:
    """What the engine did before: min(30, 2 + age/10); kept as the comparison."""

    def old(age: float) -> float:
        return min(30.0, 2 + age / 10)

    assert list(itertools.islice(poll_times(old), 4)) == pytest.approx([0, 2, 4.2, 6.62])
    assert worst_ratio(old, 2.0, 600.0)[0] > 2.0


def test_a_schedule_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PollSchedule(share=0)


def test_timer_reads_the_injected_clock() -> None:
    now = [100.0]
    timer = PollTimer.start(clock=lambda: now[0])
    assert timer.next_delay() == 2.0
    now[0] += 2.0
    assert timer.age == 2.0
    assert timer.next_delay() == pytest.approx(0.24)
    now[0] += 48.0
    assert timer.next_delay() == pytest.approx(6.0)


def test_timer_with_another_schedule() -> None:
    now = [0.0]
    timer = PollTimer.start(clock=lambda: now[0], schedule=PollSchedule(second=1, cap=5))
    assert timer.next_delay() == 1.0
    now[0] = 1000.0
    assert timer.next_delay() == 5.0
