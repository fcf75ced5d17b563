"""The offline backend: each shot rendered locally as an animatic.

No key, no network. Its identity is "preview:<version>", so its results never
satisfy a heygen build, and they never enter shots.lock. Outputs go to
<build_dir>/preview/<shot>.mp4. auto_duration shots are rendered 10 s long."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotbuild.backends.base import Local, RenderCall
from shotbuild.errors import MissingExtra, ShotbuildError
from shotbuild.keys import decode_base64
from shotbuild.request import Request, seconds_asked
from shotbuild.spec.model import DEFAULT_DURATION, Shot
from shotbuild.store.cache import Cache

PREVIEW_VERSION = 1
AUTO_DURATION_SECONDS = DEFAULT_DURATION


class PreviewBackend:
    name = "preview"
    identity = f"preview:{PREVIEW_VERSION}"
    subdir = "preview"

    def __init__(self, cache: Cache | None = None) -> None:
        self._cache = cache

    def check_ready(self) -> None:
        """Fail before rendering anything when the preview extra is missing."""
        import importlib.util

        if importlib.util.find_spec("av") is None or importlib.util.find_spec("PIL") is None:
            raise MissingExtra("preview rendering", "preview")

    def worker(self, *, timeout: float | None = None) -> Local:
        return Local(self)

    def render_call(self, shot: Shot, request: Request, root: Path, out: Path) -> RenderCall:
        """Render the shot's normalised request (the one its key is made of); the
        images come from its references, a base64 one through the blob cache."""
        images: list[Path] = []
        for ref in shot.references:
            if ref.kind != "image":
                continue
            if ref.type == "file" and ref.path:
                images.append(root / ref.path)
            elif ref.type == "base64" and ref.data:
                cache = self._cache or Cache()
                images.append(cache.put_blob_bytes(decode_base64(ref.data)))
        fields = (
            shot.name,
            str(request["prompt"]),
            tuple(request["avatar_id"]),
            str(request["aspect_ratio"]),
            str(request["resolution"]),
            seconds_asked(request, AUTO_DURATION_SECONDS),
            tuple(images),
        )
        return render_preview, (fields, out)


def render_preview(fields: tuple[Any, ...], out: Path) -> None:
    """Runs in a worker process: render one card to `out`."""
    from shotbuild.preview import Card, render_mp4

    name, prompt, looks, aspect_ratio, resolution, duration, images = fields
    try:
        card = Card(
            name=name,
            prompt=prompt,
            looks=looks,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            duration=duration,
            images=images,
        )
        render_mp4(card, out)
    except Exception as e:  # crosses a process boundary: keep it a plain, picklable error
        raise ShotbuildError(f"preview render of {name} failed: {e}") from None
