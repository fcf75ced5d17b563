"""Regenerate docs/review.png: the review page of examples/launch, as a newcomer
sees it after a preview build, with one shot also rendered "paid" (against the
local HeyGen emulator, so nothing is paid), screenshotted in Debian's Chromium.

Run from the repository root: `python docs/review_shot.py` (needs the test extra
and /usr/bin/chromium). Nothing touches the real cache, key or network."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

EXAMPLE = Path("examples/launch/shots.yaml")
PAID = "cold-open"
OUT = Path(__file__).with_name("review.png")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def build(spec: Path, url: str) -> None:
    from shotbuild import api

    os.environ.update(HEYGEN_API_KEY="emulator", HEYGEN_BASE_URL=url)
    api.build(spec, backend="preview", jobs=2)
    api.build(spec, backend="heygen", only=[PAID])


def shoot(spec: Path, url: str) -> None:
    from playwright.sync_api import sync_playwright

    from shotbuild.review.model import Project
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(Project(spec)) as served, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 1500})
        page.goto(served.url)
        page.wait_for_selector("section.shot[data-name='sign-off']")
        page.wait_for_function(
            "() => [...document.querySelectorAll('video.main')].every(v => v.readyState >= 3)"
        )
        page.wait_for_timeout(500)  # the players' loading spinners fade out
        third = page.locator("section.shot").nth(2).bounding_box()
        assert third is not None
        bottom = third["y"] + third["height"] + 12
        page.screenshot(path=str(OUT), clip={"x": 0, "y": 0, "width": 1360, "height": bottom})
        browser.close()


def main() -> int:
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread
    from shotbuild.preview import video_bytes

    with tempfile.TemporaryDirectory(prefix="shotbuild-review-shot-") as tmp:
        os.environ.update(SHOTBUILD_CACHE_DIR=f"{tmp}/cache", HOME=f"{tmp}/home")
        project = Path(tmp) / "launch"
        shutil.copytree(EXAMPLE.parent, project)
        app = create_app(EmulatorConfig(latency=0.0, seed=1), video_factory=video_bytes)
        with serve_in_thread(app) as url:
            with ThreadPoolExecutor(1) as pool:  # the engine runs its own event loop
                pool.submit(build, project / EXAMPLE.name, url).result()
            shoot(project / EXAMPLE.name, url)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
