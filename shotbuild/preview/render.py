"""Draw a shot's title card with Pillow and encode it as H.264 with PyAV.

Only the timecode and the progress bar change, so the card is drawn once and
converted to YUV once; each frame redraws only the footer band, converts that
band and splices it into a copy of the background's planes. Imported only
through `shotbuild.preview`, which checks that the `preview` extra is installed."""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.reformatter import Colorspace
from PIL import Image, ImageDraw, ImageFont, ImageOps

from shotbuild import logs
from shotbuild.preview.card import Card, PreviewError

log = logs.logger(__name__)  # where the command line said

# 4 frames a second: the picture is a still card, so more frames would only cost
# encoding time; 4 fps still moves the progress bar smoothly, cuts land on
# quarter seconds, and every integer or quarter-second duration is exact.
FPS = 4
# A keyframe every 4 s (16 frames): seeking stays instant, and keyframes, nearly all
# of the file, stay few (10 s at 1080p: about 700 KB; every 2 s: about 940 KB).
GOP_SECONDS = 4
# ultrafast: between keyframes the static card is coded as skipped blocks, so it
# stays pixel-identical (slower presets re-code it and the text shimmers at each
# keyframe), and encoding costs about as much as drawing.
X264_OPTIONS = {"preset": "ultrafast", "crf": "20", "tune": "stillimage"}
MAX_THUMBNAILS = 9  # the API's image budget

BG = (17, 20, 26)
PANEL = (32, 37, 47)
PANEL_LINE = (60, 67, 80)
TEXT = (238, 240, 244)
MUTED = (146, 154, 168)
ACCENT = (229, 57, 70)
ON_ACCENT = (255, 255, 255)
ELLIPSIS = "\u2026"

Font = ImageFont.FreeTypeFont

# The characters Pillow's bundled font (Aileron) has glyphs for: ASCII and a few
# more. Everything else is transliterated (accents dropped, dashes made hyphens)
# or shown as "?" rather than as empty boxes.
FONT_CHARS = frozenset(
    [chr(c) for c in range(32, 127)]
    + list(
        "\u00a9\u00ab\u00b0\u00b1\u00b4\u00b7\u00bb"
        "\u2018\u2019\u201c\u201d\u2026\u2039\u203a\u2044\u2122"
    )
)
SUBSTITUTES = {
    "\u2013": "-",
    "\u2014": " - ",
    "\u2212": "-",
    "\u2022": "\u00b7",
    "\u00a0": " ",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u0111": "d",
    "\u20ac": "EUR",
    "\u00d7": "x",
    "\u201e": "\u201c",
    "\u00bf": "?",
    "\u00a1": "!",
}


def printable(text: str) -> str:
    """`text` in characters the bundled font can draw."""
    out = []
    for ch in text:
        if ch in FONT_CHARS:
            out.append(ch)
        elif ch in SUBSTITUTES:
            out.append(SUBSTITUTES[ch])
        elif ch.isspace():
            out.append(" ")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in FONT_CHARS)
            out.append(base or "?")
    return "".join(out)


@functools.lru_cache(maxsize=64)
def font(size: int) -> Font:
    """Pillow's bundled font (no system fonts needed) at `size` pixels."""
    loaded = ImageFont.load_default(size=max(6, size))
    if not isinstance(loaded, ImageFont.FreeTypeFont):
        raise PreviewError("preview rendering needs Pillow with FreeType: pip install -U Pillow")
    return loaded


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass(frozen=True)
class Metrics:
    """Sizes scaled to the frame: `u` is one pixel of a 1080-pixel short side."""

    width: int
    height: int

    @property
    def u(self) -> float:
        return min(self.width, self.height) / 1080

    def px(self, n: float) -> int:
        return max(1, round(n * self.u))

    @property
    def margin(self) -> int:
        return self.px(72)

    @property
    def band_top(self) -> int:
        """Top of the footer band that changes every frame (even, for 4:2:0 chroma)."""
        return (self.height - self.px(150)) // 2 * 2


# -- text layout ---------------------------------------------------------------


def text_width(text: str, f: Font) -> float:
    return f.getlength(text)


def line_height(f: Font) -> int:
    return round(f.size * 1.3)


def wrap(text: str, f: Font, width: int) -> list[str]:
    """Greedy word wrap; words wider than the line are broken between characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, f) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while text_width(line, f) > width and len(line) > 1:
                cut = fitting_prefix(line, f, width)
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def fitting_prefix(text: str, f: Font, width: float) -> int:
    """The length of the longest prefix of `text` that fits in `width` (at least 1)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid], f) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def ellipsize(line: str, f: Font, width: int) -> str:
    """`line` with an ellipsis, shortened until it fits in `width`."""
    keep = fitting_prefix(line + ELLIPSIS, f, width - text_width(ELLIPSIS, f))
    return line[:keep].rstrip() + ELLIPSIS


def first_fitting(texts: tuple[str, ...], f: Font, width: float) -> str:
    """The first of `texts` that fits in `width`, else nothing."""
    return next((t for t in texts if text_width(t, f) <= width), "")


def fit_text(text: str, box_w: int, box_h: int, sizes: range) -> tuple[Font, list[str]]:
    """The largest font in `sizes` (descending) at which `text` wraps into the box;
    at the smallest size the text is cut after the last line that fits, with an ellipsis."""
    f = font(sizes.start)
    for size in sizes:
        f = font(size)
        max_lines = max(1, box_h // line_height(f))
        # Wrapping 10,000 characters at a large size is wasted work: skip sizes
        # whose characters cannot possibly fit.
        if len(text) * text_width("n", f) * 0.6 > box_w * max_lines:
            continue
        lines = wrap(text, f, box_w)
        if len(lines) <= max_lines:
            return f, lines
    max_lines = max(1, box_h // line_height(f))
    lines = wrap(text[: max_lines * box_w], f, box_w)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = ellipsize(lines[-1], f, box_w)
    return f, lines


def draw_lines(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    lines: list[str],
    f: Font,
    fill: tuple[int, int, int],
    bold: bool = False,
) -> int:
    """Draw lines top-down from `xy`; returns the y below the last line."""
    x, y = xy
    stroke = max(1, round(f.size / 40)) if bold else 0
    for line in lines:
        draw.text((x, y), line, font=f, fill=fill, stroke_width=stroke, stroke_fill=fill)
        y += line_height(f)
    return y


def label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, m: Metrics) -> int:
    """A small muted section label; returns the y below it."""
    f = font(m.px(26))
    draw.text(xy, text.upper(), font=f, fill=MUTED)
    return xy[1] + line_height(f) + m.px(6)


# -- the static card -------------------------------------------------------------


def draw_card(card: Card) -> Image.Image:
    """Everything that does not change from frame to frame."""
    m = Metrics(*card.size)
    img = Image.new("RGB", card.size, BG)
    draw = ImageDraw.Draw(img)
    y = draw_header(draw, card, m)
    y = draw_title(draw, card.name, y + m.px(48), m)
    draw.rectangle((m.margin, y + m.px(20), m.margin + m.px(120), y + m.px(26)), fill=ACCENT)
    top = y + m.px(64)
    draw_body(img, draw, card, m, Box(m.margin, top, m.width - 2 * m.margin, m.band_top - top))
    draw_footer_static(draw, card, m)
    return img


def draw_header(draw: ImageDraw.ImageDraw, card: Card, m: Metrics) -> int:
    """The mark as a badge, then resolution, aspect ratio and duration; returns its bottom."""
    f = font(m.px(40))
    pad_x, pad_y = m.px(20), m.px(12)
    x, y = m.margin, m.margin
    mark = printable(card.mark)
    if text_width(mark, f) > m.width - 2 * m.margin - 2 * pad_x:
        mark = ellipsize(mark, f, m.width - 2 * m.margin - 2 * pad_x)
    mark_w = round(text_width(mark, f))
    badge = (x, y, x + mark_w + 2 * pad_x, y + round(f.size) + 2 * pad_y)
    draw.rounded_rectangle(badge, radius=m.px(8), fill=ACCENT)
    stroke = max(1, round(f.size / 40))
    draw.text(
        (x + pad_x, y + pad_y + round(f.size) // 2),
        mark,
        font=f,
        fill=ON_ACCENT,
        anchor="lm",
        stroke_width=stroke,
        stroke_fill=ON_ACCENT,
    )
    mf = font(m.px(30))
    meta_x = badge[2] + m.px(28)
    seconds = format_seconds(card.duration)
    meta = first_fitting(
        (
            f"{card.resolution}  \u00b7  {card.aspect_ratio}  \u00b7  {seconds}",
            f"{card.resolution} \u00b7 {card.aspect_ratio}",
        ),
        mf,
        m.width - m.margin - meta_x,
    )
    draw.text((meta_x, (badge[1] + badge[3]) // 2), meta, font=mf, fill=MUTED, anchor="lm")
    return badge[3]


def draw_title(draw: ImageDraw.ImageDraw, name: str, y: int, m: Metrics) -> int:
    width = m.width - 2 * m.margin
    f, lines = fit_text(printable(name), width, m.px(150), range(m.px(120), m.px(56) - 1, -2))
    return draw_lines(draw, (m.margin, y), lines, f, TEXT, bold=True)


def draw_body(
    img: Image.Image, draw: ImageDraw.ImageDraw, card: Card, m: Metrics, box: Box
) -> None:
    """Prompt, reference thumbnails and looks, laid out from the bottom up."""
    looks_h = draw_looks(draw, card.looks, m, box, dry_run=True)
    looks_y = box.bottom - m.px(40) - looks_h
    draw_looks(draw, card.looks, m, Box(box.x, looks_y, box.w, looks_h))
    rest = Box(box.x, box.y, box.w, box.h - m.px(40) - looks_h - m.px(40))
    images = card.images[:MAX_THUMBNAILS]
    gap = m.px(56)
    if not images:
        prompt = Box(rest.x, rest.y, min(rest.w, m.px(1500)), rest.h)
    elif m.width >= m.height:
        prompt_w = round(rest.w * 0.58)
        prompt = Box(rest.x, rest.y, prompt_w, rest.h)
        thumbs = Box(rest.x + prompt_w + gap, rest.y, rest.w - prompt_w - gap, rest.h)
        draw_thumbnails(img, draw, images, m, thumbs, card.name)
    else:
        # Portrait: the prompt first, the thumbnails right under it.
        prompt = Box(rest.x, rest.y, rest.w, rest.h - m.px(240) - gap)
        y = draw_prompt(draw, card.prompt, m, prompt) + gap
        thumbs = Box(rest.x, y, rest.w, min(rest.bottom - y, m.px(600)))
        draw_thumbnails(img, draw, images, m, thumbs, card.name)
        return
    draw_prompt(draw, card.prompt, m, prompt)


def draw_prompt(draw: ImageDraw.ImageDraw, prompt: str, m: Metrics, box: Box) -> int:
    """The prompt, as large as fits in `box`; returns the y below its last line."""
    y = label(draw, (box.x, box.y), "Prompt", m)
    text = " ".join(printable(prompt).split()) or "(no prompt)"
    f, lines = fit_text(text, box.w, box.bottom - y, range(m.px(52), m.px(26) - 1, -2))
    return draw_lines(draw, (box.x, y), lines, f, TEXT)


def draw_looks(
    draw: ImageDraw.ImageDraw, looks: tuple[str, ...], m: Metrics, box: Box, dry_run: bool = False
) -> int:
    """Look IDs as chips flowing left to right; returns the height used."""
    y = box.y + line_height(font(m.px(26))) + m.px(6)
    if not dry_run:
        label(draw, (box.x, box.y), "Looks" if len(looks) != 1 else "Look", m)
    f = font(m.px(30))
    pad_x, pad_y, gap = m.px(18), m.px(10), m.px(14)
    chip_h = round(f.size) + 2 * pad_y
    x = box.x
    for look in looks or ("(none)",):
        text = printable(look)
        if text_width(text, f) + 2 * pad_x > box.w:
            text = ellipsize(text, f, box.w - 2 * pad_x)
        chip_w = round(text_width(text, f)) + 2 * pad_x
        if x > box.x and x + chip_w > box.x + box.w:
            x, y = box.x, y + chip_h + gap
        if not dry_run:
            draw.rounded_rectangle((x, y, x + chip_w, y + chip_h), radius=m.px(8), fill=PANEL)
            draw.text((x + pad_x, y + chip_h // 2), text, font=f, fill=TEXT, anchor="lm")
        x += chip_w + gap
    return y + chip_h - box.y


def grid(n: int, box: Box, gap: int) -> tuple[int, int, int, int]:
    """(columns, rows, cell width, cell height) that show n 16:9 thumbnails largest."""
    best = (1, n, box.w, 0)
    best_score = -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w = (box.w - gap * (cols - 1)) // cols
        cell_h = (box.h - gap * (rows - 1)) // rows
        score = min(cell_w, cell_h * 16 / 9)
        if score > best_score:
            best, best_score = (cols, rows, cell_w, cell_h), score
    cols, rows, cell_w, cell_h = best
    cell_w, cell_h = min(cell_w, round(cell_h * 16 / 9)), min(cell_h, round(cell_w * 9 / 16) + 1)
    return cols, rows, cell_w, cell_h


def draw_thumbnails(
    img: Image.Image,
    draw: ImageDraw.ImageDraw,
    images: tuple[Path, ...],
    m: Metrics,
    box: Box,
    shot: str,
) -> None:
    y = label(draw, (box.x, box.y), "References", m)
    area = Box(box.x, y, box.w, box.bottom - y)
    gap = m.px(20)
    cols, _, cell_w, cell_h = grid(len(images), area, gap)
    for i, path in enumerate(images):
        x = area.x + (i % cols) * (cell_w + gap)
        cy = area.y + (i // cols) * (cell_h + gap)
        img.paste(thumbnail(path, cell_w, cell_h, m, shot), (x, cy))


def thumbnail(path: Path, w: int, h: int, m: Metrics, shot: str) -> Image.Image:
    """The image contained in a w x h panel, or a placeholder box if it cannot be read."""
    cell = Image.new("RGB", (max(1, w), max(1, h)), PANEL)
    try:
        with Image.open(path) as src:
            src.draft("RGB", (w, h))
            pic = ImageOps.contain(ImageOps.exif_transpose(src).convert("RGBA"), cell.size)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        log.warning(
            "preview %s: cannot read image %s (%s); drawing a placeholder box", shot, path, e
        )
        return unreadable_box(cell, path, m)
    cell.paste(pic, ((cell.width - pic.width) // 2, (cell.height - pic.height) // 2), pic)
    return cell


def unreadable_box(cell: Image.Image, path: Path, m: Metrics) -> Image.Image:
    draw = ImageDraw.Draw(cell)
    w, h = cell.size
    draw.rectangle((0, 0, w - 1, h - 1), outline=MUTED, width=m.px(3))
    draw.line((0, 0, w, h), fill=PANEL_LINE, width=m.px(3))
    draw.line((0, h, w, 0), fill=PANEL_LINE, width=m.px(3))
    f = font(max(8, min(m.px(26), h // 6)))
    for i, text in enumerate(("image unavailable", printable(path.name))):
        if text_width(text, f) > w - 8:
            text = ellipsize(text, f, w - 8)
        offset = (i - 0.5) * line_height(f)
        draw.text((w // 2, round(h / 2 + offset)), text, font=f, fill=TEXT, anchor="mm")
    return cell


def draw_footer_static(draw: ImageDraw.ImageDraw, card: Card, m: Metrics) -> None:
    """The parts of the footer band that never change (drawn once, under the band)."""
    f = font(m.px(28))
    room = m.width - 2 * m.margin - m.px(480)
    texts = (
        "shotbuild \u00b7 offline preview, not a final render",
        "offline preview \u00b7 not final",
        "offline preview",
    )
    text = first_fitting(texts, f, room)
    y = m.band_top + m.px(44)
    draw.text((m.width - m.margin, y), text, font=f, fill=MUTED, anchor="rm")


# -- the changing band -----------------------------------------------------------


def format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def timecode(frame: int, fps: int = FPS) -> str:
    """SMPTE-style HH:MM:SS:FF of a frame number."""
    seconds, ff = divmod(frame, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def draw_tabular(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, f: Font, fill: tuple[int, int, int]
) -> int:
    """Draw digits in equal cells so the timecode does not jitter; returns the end x."""
    x: float = xy[0]
    y = xy[1]
    digit_w = max(text_width(d, f) for d in "0123456789")
    for ch in text:
        w = digit_w if ch.isdigit() else text_width(ch, f)
        draw.text((x + w / 2, y), ch, font=f, fill=fill, anchor="mm")
        x += w
    return round(x)


def draw_band(band: Image.Image, frame: int, frames: int, m: Metrics) -> Image.Image:
    """The footer band of one frame: running timecode and a progress bar."""
    out = band.copy()
    draw = ImageDraw.Draw(out)
    y = m.px(44)
    end = draw_tabular(draw, (m.margin, y), timecode(frame), font(m.px(52)), TEXT)
    draw_tabular(
        draw, (end + m.px(14), y + m.px(4)), "/ " + timecode(frames), font(m.px(32)), MUTED
    )
    bar_y, bar_h = m.px(104), m.px(8)
    right = m.width - m.margin
    draw.rounded_rectangle((m.margin, bar_y, right, bar_y + bar_h), radius=bar_h // 2, fill=PANEL)
    done = m.margin + round((right - m.margin) * (frame + 1) / frames)
    draw.rounded_rectangle((m.margin, bar_y, done, bar_y + bar_h), radius=bar_h // 2, fill=ACCENT)
    return out


# -- encoding --------------------------------------------------------------------


def to_yuv(img: Image.Image) -> av.VideoFrame:
    frame: av.VideoFrame = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
    return frame.reformat(
        format="yuv420p", src_colorspace=Colorspace.ITU709, dst_colorspace=Colorspace.ITU709
    )


class Splicer:
    """Builds frames from the background's YUV planes with a new footer band."""

    def __init__(self, background: av.VideoFrame, band_top: int) -> None:
        self.width, self.height = background.width, background.height
        self.line_sizes = [p.line_size for p in background.planes]
        self.heads = [
            bytes(p)[: (band_top >> (1 if i else 0)) * p.line_size]
            for i, p in enumerate(background.planes)
        ]

    def frame(self, band: av.VideoFrame) -> av.VideoFrame:
        out = av.VideoFrame(self.width, self.height, "yuv420p")
        if [p.line_size for p in band.planes] != self.line_sizes or any(
            p.line_size != ls for p, ls in zip(out.planes, self.line_sizes, strict=True)
        ):
            raise PreviewError("preview: unexpected frame layout")  # pragma: no cover
        for plane, head, band_plane in zip(out.planes, self.heads, band.planes, strict=True):
            plane.update(head + bytes(band_plane))
        return out


def encode(card: Card, path: Path) -> None:
    """Write the preview of `card` as an H.264 mp4 (yuv420p, moov first) at `path`."""
    m = Metrics(*card.size)
    background = draw_card(card)
    static_band = background.crop((0, m.band_top, m.width, m.height))
    splicer = Splicer(to_yuv(background), m.band_top)
    frames = max(1, round(card.duration * FPS))
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        container.metadata.update(title=card.name, comment=card.prompt)
        stream = open_stream(container, m)
        for i in range(frames):
            frame = splicer.frame(to_yuv(draw_band(static_band, i, frames, m)))
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def open_stream(container: av.container.OutputContainer, m: Metrics) -> av.VideoStream:
    stream = container.add_stream("libx264", rate=FPS, options=dict(X264_OPTIONS))
    stream.width, stream.height = m.width, m.height
    stream.pix_fmt = "yuv420p"
    ctx = stream.codec_context
    ctx.gop_size = FPS * GOP_SECONDS
    ctx.colorspace = ctx.color_primaries = ctx.color_trc = int(Colorspace.ITU709)
    ctx.color_range = 1  # limited ("tv") range, what players expect from yuv420p
    return stream


# -- the placeholder template ----------------------------------------------------


def write_placeholder_template(path: Path) -> None:
    """The generic clip behind `placeholder_mp4` (committed as placeholder.mp4):
    one 320x180 frame (its duration is rewritten per card), moov last so the metadata
    and durations can be rewritten without moving the media data. Regenerate with
    `python -c "from pathlib import Path; from shotbuild.preview import render;
    render.write_placeholder_template(Path('shotbuild/preview/placeholder.mp4'))"`."""
    img = Image.new("RGB", (320, 180), BG)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((16, 16, 120, 46), radius=4, fill=ACCENT)
    draw.text(
        (68, 31),
        "PREVIEW",
        font=font(18),
        fill=ON_ACCENT,
        anchor="mm",
        stroke_width=1,
        stroke_fill=ON_ACCENT,
    )
    draw.text((16, 80), "placeholder: renderer not installed", font=font(15), fill=TEXT)
    draw.text((16, 104), "pip install 'shotbuild[preview]'", font=font(15), fill=MUTED)
    with av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(
            "libx264", rate=1, options={"preset": "veryslow", "crf": "30"}
        )
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        frame = to_yuv(img)
        frame.pts, frame.time_base = 0, Fraction(1, 1)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
