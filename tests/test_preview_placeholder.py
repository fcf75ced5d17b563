"""The placeholder mp4: valid H.264 that names the shot, built without PyAV."""

from __future__ import annotations

import io
import sys

import av
import pytest

from shotbuild.preview import Card, placeholder_mp4
from shotbuild.preview.placeholder import boxes, template_bytes


def card(name: str = "office-walk", prompt: str = "A founder walks through an office.") -> Card:
    return Card(name, prompt, ("look_founder",), "9:16", "1080p", 10)


def test_placeholder_is_a_playable_h264_mp4_naming_the_shot() -> None:
    data = placeholder_mp4(card())
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert len(list(container.decode(video=0))) >= 1
        assert container.metadata["title"] == "office-walk"
        assert container.metadata["comment"] == "A founder walks through an office."
        assert "look_founder" in container.metadata["description"]
        assert container.duration == 10_000_000  # the card's 10 s, in microseconds
    assert b"office-walk" in data
    assert len(data) < 16_000


def test_placeholder_needs_no_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert b"shot-2" in placeholder_mp4(card(name="shot-2"))


def test_each_card_gets_its_own_bytes_and_long_text_stays_valid() -> None:
    long_prompt = "\u00e9\u4e2d" * 5_000  # 10,000 characters, 25,000 UTF-8 bytes
    a, b = placeholder_mp4(card("a")), placeholder_mp4(card("b", long_prompt))
    assert a != b
    with av.open(io.BytesIO(b), "r") as container:
        assert container.metadata["comment"] == long_prompt
        assert len(list(container.decode(video=0))) >= 1


@pytest.mark.parametrize("seconds", [4, 7.25, 15])
def test_placeholder_lasts_as_long_as_the_card(seconds: float) -> None:
    shot = Card("s", "p", (), "16:9", "720p", seconds)
    with av.open(io.BytesIO(placeholder_mp4(shot)), "r") as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(seconds)
        assert len(list(container.decode(video=0))) == 1


def test_template_keeps_moov_last_so_metadata_can_grow() -> None:
    kinds = [kind for kind, _, _ in boxes(template_bytes())]
    assert kinds[-1] == b"moov" and b"mdat" in kinds
