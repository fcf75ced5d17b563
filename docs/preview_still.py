"""Regenerate docs/preview.png: a frame of the 16:9 1080p preview of a realistic
shot, decoded from the mp4 with PyAV (so it shows what the video really holds).

Run from the repository root: `python docs/preview_still.py [IMAGE...]`
(default image: examples/references/refs/lighting.jpg, when it exists)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av

from shotbuild.preview import Card, render_mp4

PROMPT = (
    "A founder walks through a sunlit startup office, gesturing toward a whiteboard, "
    "shot handheld in a documentary style."
)
DEFAULT_IMAGE = Path("examples/references/refs/lighting.jpg")
AT_SECONDS = 3


def main(argv: list[str]) -> int:
    images = tuple(Path(a) for a in argv) or tuple(p for p in [DEFAULT_IMAGE] if p.exists())
    card = Card(
        "office-walk", PROMPT, ("look_founder", "look_cofounder"), "16:9", "1080p", 10, images
    )
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "office-walk.mp4"
        render_mp4(card, video)
        with av.open(str(video), "r") as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= AT_SECONDS:
                    frame.to_image().save(Path(__file__).with_name("preview.png"), optimize=True)  # type: ignore[no-untyped-call]
                    return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
