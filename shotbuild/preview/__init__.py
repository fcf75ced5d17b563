"""The offline `preview` backend's renderer: an animatic title card per shot.

Importing this package is cheap: PyAV and Pillow (the `preview` extra) are
imported only when a video is rendered. Without them, `render_mp4` raises
MissingExtra and `video_bytes` falls back to `placeholder_mp4`, a small valid
mp4 shipped with the package that names the shot in its metadata."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType

from shotbuild import logs
from shotbuild.errors import MissingExtra
from shotbuild.fs import atomic_write_bytes
from shotbuild.preview.card import FRAME_SIZES, Card, PreviewError
from shotbuild.preview.placeholder import placeholder_mp4

__all__ = [
    "FRAME_SIZES",
    "Card",
    "PreviewError",
    "placeholder_mp4",
    "render_mp4",
    "video_bytes",
]

log = logs.logger(__name__)  # where the command line said


def render_mp4(card: Card, out: Path) -> None:
    """Render `card` as an H.264 mp4 at `out` (replaced atomically). A top-level
    function of picklable arguments, so it can run in a process pool."""
    atomic_write_bytes(Path(out), _render_bytes(_renderer(), card))


def video_bytes(card: Card) -> bytes:
    """The rendered mp4 when the `preview` extra is installed, else the placeholder."""
    try:
        renderer = _renderer()
    except MissingExtra:
        log.info("preview extra not installed: serving a placeholder video for %s", card.name)
        return placeholder_mp4(card)
    return _render_bytes(renderer, card)


def _render_bytes(renderer: ModuleType, card: Card) -> bytes:
    # FFmpeg's faststart pass re-opens the output by name, so render to a real path.
    with tempfile.TemporaryDirectory(prefix="shotbuild-preview-") as tmp:
        path = Path(tmp) / "preview.mp4"
        renderer.encode(card, path)
        return path.read_bytes()


def _renderer() -> ModuleType:
    try:
        import av  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as e:
        raise MissingExtra("preview rendering", "preview") from e
    from shotbuild.preview import render

    return render
