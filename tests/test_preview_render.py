"""The preview renderer: real H.264 files, opened back with PyAV."""

from __future__ import annotations

import io
import logging
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageDraw

from shotbuild.errors import MissingExtra
from shotbuild.preview import Card, PreviewError, placeholder_mp4, render_mp4, video_bytes
from shotbuild.preview import render as rendering
from shotbuild.preview.placeholder import boxes

PROMPT = (
    "A founder walks through a sunlit startup office, gesturing toward a whiteboard, "
    "shot handheld in a documentary style."
)


def card(**changes: object) -> Card:
    fields: dict[str, object] = {
        "name": "office-walk",
        "prompt": PROMPT,
        "looks": ("look_founder", "look_cofounder"),
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": 1,
    }
    fields.update(changes)
    return Card(**fields)  # type: ignore[arg-type]


def frames(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data), "r") as container:
        return [frame.to_image() for frame in container.decode(video=0)]  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("resolution", "aspect_ratio", "size"),
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("720p", "1:1", (720, 720)),
        ("1080p", "16:9", (1920, 1080)),
        ("1080p", "9:16", (1080, 1920)),
        ("1080p", "1:1", (1080, 1080)),
    ],
)
def test_renders_h264_yuv420p_at_the_exact_size(
    tmp_path: Path, resolution: str, aspect_ratio: str, size: tuple[int, int]
) -> None:
    out = tmp_path / "shot.mp4"
    render_mp4(card(resolution=resolution, aspect_ratio=aspect_ratio), out)
    with av.open(str(out), "r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == size
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(1.0, abs=1 / rendering.FPS)
        assert container.metadata["title"] == "office-walk"
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_duration_is_exact_to_one_frame(tmp_path: Path) -> None:
    out = tmp_path / "shot.mp4"
    render_mp4(card(duration=4), out)
    with av.open(str(out), "r") as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - 4) <= 1 / rendering.FPS
        assert sum(1 for _ in container.decode(video=0)) == 4 * rendering.FPS


def test_moov_comes_first_so_browsers_can_start_playing(tmp_path: Path) -> None:
    out = tmp_path / "shot.mp4"
    render_mp4(card(), out)
    kinds = [kind for kind, _, _ in boxes(out.read_bytes())]
    assert kinds.index(b"moov") < kinds.index(b"mdat")


def test_only_the_timecode_band_changes_and_the_timecode_runs() -> None:
    shot = card(duration=2)
    decoded = frames(video_bytes(shot))
    m = rendering.Metrics(*shot.size)
    first, one_second_later = decoded[0], decoded[rendering.FPS]
    timecode_box = (0, m.band_top, m.width // 2, m.band_top + m.px(80))
    diff = ImageChops.difference(first.crop(timecode_box), one_second_later.crop(timecode_box))
    assert diff.getbbox() is not None, "the timecode must change each second"
    # Above the band the card is static (allowing for lossy-coding noise).
    top = (0, 0, m.width, m.band_top - 16)
    still = ImageChops.difference(first.crop(top), one_second_later.crop(top)).convert("L")
    assert not any(still.histogram()[40:])


def test_timecode_counts_seconds_and_frames() -> None:
    assert rendering.timecode(0) == "00:00:00:00"
    assert rendering.timecode(rendering.FPS * 61 + 3) == "00:01:01:03"


def test_unreadable_image_draws_a_placeholder_box_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = tmp_path / "good.png"
    Image.new("RGB", (640, 360), (200, 150, 90)).save(good)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    missing = tmp_path / "missing.png"
    out = tmp_path / "shot.mp4"
    with caplog.at_level(logging.WARNING, logger="shotbuild.preview"):
        render_mp4(card(images=(good, bad, missing)), out)
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "broken.jpg" in warned and "missing.png" in warned
    assert "good.png" not in warned
    assert frames(out.read_bytes())


def test_a_10000_character_prompt_is_cut_with_an_ellipsis(tmp_path: Path) -> None:
    prompt = " ".join(["walking"] * 1250)[:10_000]
    out = tmp_path / "shot.mp4"
    render_mp4(card(prompt=prompt), out)
    assert frames(out.read_bytes())
    f, lines = rendering.fit_text(prompt, 800, 300, range(52, 25, -2))
    assert f.size == 26
    assert lines[-1].endswith(rendering.ELLIPSIS)
    assert all(rendering.text_width(line, f) <= 800 for line in lines)
    assert len(lines) * rendering.line_height(f) <= 300


def test_long_words_wrap_inside_the_box() -> None:
    f = rendering.font(40)
    lines = rendering.wrap("x" * 500, f, 300)
    assert len(lines) > 1
    assert all(rendering.text_width(line, f) <= 300 for line in lines)


def test_text_is_drawn_in_characters_the_bundled_font_has() -> None:
    assert (
        rendering.printable("naïve café \u2014 Straße, 5\u20ac") == "naive cafe  -  Strasse, 5EUR"
    )
    assert rendering.printable("\u4e2d") == "?"
    f = rendering.font(30)

    def pixels(text: str) -> bytes:
        img = Image.new("L", (60, 60))
        ImageDraw.Draw(img).text((10, 10), text, font=f, fill=255)
        return img.tobytes()

    missing_glyph = pixels("\U0010fffd")
    assert [ch for ch in rendering.FONT_CHARS if ch != " " and pixels(ch) == missing_glyph] == []


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    with pytest.raises(MissingExtra, match=r"pip install 'shotbuild\[preview\]'"):
        render_mp4(card(), Path("never-written.mp4"))
    assert not Path("never-written.mp4").exists()
    assert video_bytes(card()) == placeholder_mp4(card())


def test_card_rejects_what_it_cannot_draw() -> None:
    with pytest.raises(PreviewError, match="4k"):
        card(resolution="4k")
    with pytest.raises(PreviewError, match="duration"):
        card(duration=0)
    with pytest.raises(PreviewError, match="duration"):
        card(duration=float("nan"))


def test_card_is_hashable_and_picklable_for_process_pools(tmp_path: Path) -> None:
    shot = card(looks=["look_a"], images=[str(tmp_path / "a.png")])
    assert shot.looks == ("look_a",) and shot.images == (tmp_path / "a.png",)
    assert pickle.loads(pickle.dumps(shot)) == shot
    assert hash(shot) == hash(card(looks=("look_a",), images=(tmp_path / "a.png",)))
    out = tmp_path / "pool.mp4"
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(render_mp4, card(resolution="720p", aspect_ratio="1:1"), out).result()
    assert len(frames(out.read_bytes())) == rendering.FPS


def test_importing_the_package_loads_neither_pyav_nor_pillow() -> None:
    code = (
        "import sys, shotbuild.preview as p; "
        "p.Card('a', 'b', (), '16:9', '720p', 4); "
        "print(sorted({'av', 'PIL'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
