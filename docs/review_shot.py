"""Regenerate docs/review.png: the review page of examples/launch (with a sequence
added) as a newcomer sees it after a preview build, with its first shot rendered
"paid" three times (a build and two rerolls against the local HeyGen emulator, so
nothing is paid; the emulator's cards are numbered so the takes differ), take 3
then dropped from the local cache (on record only, as on a machine that never
downloaded it). Screenshotted in Debian's Chromium: the top of the page (three
takes side by side, then the next shots) and the Sequences section, one above the
other in one image.

Run from the repository root: `python docs/review_shot.py` (needs the test,
preview and review extras and /usr/bin/chromium). Nothing touches the real
cache, key or network."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

EXAMPLE = Path("examples/launch/shots.yaml")
PAID = "cold-open"
TAKES = 3
SEQUENCE = """
sequences:
  teaser:
    shots: [cold-open, {shot: office-walk, in: 1, out: 5}, product-reveal, sign-off]
"""
OUT = Path(__file__).with_name("review.png")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
WIDTH = 1360
SHOTS_SHOWN = 3  # the top of the page down to this many shots


def numbered() -> Callable[[Any], bytes]:
    """The emulator's renderer with each render of a card named "<title> - take <n>"."""
    from shotbuild.preview import video_bytes

    counts: dict[str, int] = {}

    def render(card: Any) -> bytes:
        take = counts[card.name] = counts.get(card.name, 0) + 1
        return video_bytes(dataclasses.replace(card, name=f"{card.name} - take {take}"))

    return render


def build(spec: Path, url: str) -> None:
    from shotbuild import api
    from shotbuild.store.cache import Cache
    from shotbuild.store.lock import read_lock_file

    os.environ.update(HEYGEN_API_KEY="emulator", HEYGEN_BASE_URL=url)
    api.build(spec, backend="preview", jobs=2)
    api.build(spec, backend="heygen", only=[PAID])
    for _ in range(TAKES - 1):
        api.reroll(spec, [PAID])
    last = read_lock_file(spec.with_suffix(".lock")).shots[PAID].takes[TAKES]
    Cache().blob_path(last.sha256).unlink()


def shoot(spec: Path) -> None:
    from playwright.sync_api import sync_playwright

    from shotbuild.review.model import Project
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(Project(spec)) as served, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # tall enough for the whole page: Chromium paints no frame of a video off screen
        page = browser.new_page(viewport={"width": WIDTH, "height": 2400})
        page.goto(served.url)
        page.wait_for_selector("section.sequence[data-name='teaser'] video.seq")
        page.wait_for_function(
            "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
        )
        page.evaluate(  # the sequence's players a little way in, as after a first look
            """() => Promise.all([...document.querySelectorAll('video.seq, video.cut')].map(v =>
                new Promise(done => { v.addEventListener('seeked', done, { once: true });
                                      v.currentTime = 1.5; })))"""
        )
        page.wait_for_timeout(800)  # the players' loading spinners fade out
        top = page.locator("section.shot").nth(SHOTS_SHOWN - 1).bounding_box()
        seq = page.locator("#sequences-title").bounding_box()
        end = page.locator("section.sequence").last.bounding_box()
        assert top is not None and seq is not None and end is not None
        shots = page.screenshot(clip=_clip(0, top["y"] + top["height"] + 12), full_page=True)
        cut = page.screenshot(
            clip=_clip(seq["y"] - 8, end["y"] + end["height"] + 12), full_page=True
        )
        browser.close()
    _stack(shots, cut)


def _clip(y0: float, y1: float) -> Any:
    return {"x": 0, "y": y0, "width": WIDTH, "height": y1 - y0}


def _stack(*parts: bytes) -> None:
    """The parts one above the other, a dashed rule between (the shots left out)."""
    from PIL import Image, ImageDraw

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in parts]
    gap = 28
    out = Image.new("RGB", (WIDTH, sum(i.height for i in images) + gap), "#111418")
    out.paste(images[0], (0, 0))
    rule = ImageDraw.Draw(out)
    y = images[0].height + gap // 2
    for x in range(20, WIDTH - 20, 18):
        rule.line([(x, y), (x + 9, y)], fill="#5a6370", width=2)
    out.paste(images[1], (0, images[0].height + gap))
    out.save(OUT, optimize=True)


def main() -> int:
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread

    with tempfile.TemporaryDirectory(prefix="shotbuild-review-shot-") as tmp:
        os.environ.update(SHOTBUILD_CACHE_DIR=f"{tmp}/cache", HOME=f"{tmp}/home")
        project = Path(tmp) / "launch"
        shutil.copytree(EXAMPLE.parent, project, ignore=shutil.ignore_patterns("build", "*.lock"))
        spec = project / EXAMPLE.name
        spec.write_text(spec.read_text(encoding="utf-8") + SEQUENCE, encoding="utf-8")
        app = create_app(EmulatorConfig(latency=0.0, seed=1), video_factory=numbered())
        with serve_in_thread(app) as url:
            with ThreadPoolExecutor(1) as pool:  # the engine runs its own event loop
                pool.submit(build, spec, url).result()
            shoot(spec)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
