"""Opening an image a person hands over, safely: size limits before decoding, any mode to L/LA/RGB/RGBA."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..bounded import FileRefused, read_bounded

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 4096 * 4096


class ImageError(ValueError):
    """An input that is not a usable image; the message says why, in words for the user."""


def load_image(source: bytes | str | Path) -> Image.Image:
    """Open an upload or file safely; return it decoded in mode L, LA, RGB or RGBA (first frame)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:  # a regular file of at most MAX_BYTES, read from one handle (a FIFO or /dev/zero is refused)
            data = read_bounded(path, MAX_BYTES)
        except FileRefused as e:
            raise ImageError(f"{e}.") from None
        except OSError as e:
            raise ImageError(f"Cannot read {path}: {e.strerror or e}.") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise ImageError(f"Expected image bytes or a file path, got {type(source).__name__}.")
    if not data:
        raise ImageError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImageError(f"The file is too big: {len(data) / 2**20:.1f} MiB (at most {MAX_BYTES / 2**20:.0f} MiB).")
    try:  # opening reads only the header; Pillow refuses outright bombs over 2x its own limit
        img = Image.open(io.BytesIO(data))
        # Check the header's size before decoding, so a bomb is never expanded in memory.
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"The image is too large: {w}x{h} pixels (at most {MAX_PIXELS:,} pixels).")
        if w == 0 or h == 0:
            raise ImageError("The image has no pixels.")
        # Animated GIF/PNG/WebP: the first frame. is_animated looks one frame ahead at most; n_frames
        # would parse every frame (3 s for a 10 MB GIF of 388,000 tiny frames) to answer the same.
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
        if img.getexif().get(0x0112, 1) != 1:  # phone photos: honour the orientation tag
            img = ImageOps.exif_transpose(img)
        return to_standard_mode(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("This is not an image Pillow can read (PNG, JPEG, GIF, BMP, WebP ...).") from None
    except Image.DecompressionBombError:
        raise ImageError(f"The image is too large (over {MAX_PIXELS:,} pixels).") from None
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - a plugin's parser, or a damaged frame, fails with any error at all
        raise ImageError(_damaged(e)) from None


def _damaged(e: Exception) -> str:
    """One line for a file Pillow failed on; its own words only where it says what it found (an
    IndexError's "index out of range" says nothing to a person)."""
    text = "The image is damaged or not an image Pillow can read"
    said = str(e).strip().splitlines()
    if isinstance(e, (OSError, SyntaxError, ValueError, EOFError)) and said:
        return f"{text} ({said[0][:200].rstrip('.')})."
    return f"{text}."


def to_standard_mode(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> L, LA, RGB or RGBA, 8 bits per channel."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return img
    if mode.startswith("I") or mode == "F":
        # 16-bit PNGs open as I;16 (or I): convert("L") would clip at 255 instead of scaling.
        a = np.asarray(img).astype(np.float64)
        if mode == "F" and a.size and np.nanmax(a) <= 1.0:
            a = a * 255.0
        elif mode.startswith("I;16") or (a.size and a.max() > 255):
            a = a / 257.0  # 0..65535 -> 0..255 exactly at both ends
        return Image.fromarray(np.clip(np.nan_to_num(a), 0, 255).round().astype(np.uint8), "L")
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode in ("PA", "RGBa"):
        return img.convert("RGBA")
    if mode == "La":
        return img.convert("LA")
    if mode == "1":
        return img.convert("L")
    try:
        return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX ...
    except (ValueError, OSError) as e:
        raise ImageError(f"Unsupported image mode {mode}: {e}.") from None


def as_float_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """HxW or HxWxC float32 in [0, 1], C in 1..4."""
    if isinstance(image, Image.Image):
        image = to_standard_mode(image)
        a = np.asarray(image, dtype=np.float32) / 255.0
    elif isinstance(image, np.ndarray):
        a = image
        if a.dtype == np.bool_:
            a = a.astype(np.float32)
        elif a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
        elif a.dtype == np.uint16:
            a = a.astype(np.float32) / 65535.0
        elif np.issubdtype(a.dtype, np.number):
            a = np.nan_to_num(a.astype(np.float32))
            if a.size and a.max() > 1.0:
                a = a / 255.0  # a float array in 0..255 is common (e.g. from other tools)
        else:
            raise ImageError(f"Unsupported array dtype {a.dtype}.")
    else:
        raise ImageError(f"Expected a PIL image or a numpy array, got {type(image).__name__}.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (2, 3, 4))):
        raise ImageError(f"Expected an HxW, HxWx3 or HxWx4 image, got shape {a.shape}.")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageError("The image has no pixels.")
    return np.clip(a, 0.0, 1.0)
