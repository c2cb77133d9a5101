"""Bad payloads for tests/reliability/test_bad_input.py: bodies, images, archives and CSV
files that are broken in one precise way each. Deterministic (no randomness without a seed)."""

from __future__ import annotations

import base64
import io
import random
import struct
import zipfile
import zlib

from PIL import Image

from tests.support.imports import HEADER, student, to_csv

ONE_MIB = 1024 * 1024


def garbage(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------- images


def png(size: tuple[int, int] = (40, 30), *, noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, garbage(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 40, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (200, 200)) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, garbage(size[0] * size[1] * 3)).save(out, format="JPEG")
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def png_bomb() -> bytes:
    """12,000 x 12,000 one-bit pixels: a few KiB that decode to 144 megapixels."""
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height pixels, with one tiny data chunk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


def base64_text_of_png() -> bytes:
    """The photo base64-encoded (as a data URL body would hold it), sent as the file."""
    return base64.b64encode(png())


# ---------------------------------------------------------------- archives


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A photo archive whose one member inflates from ~100 KiB to 100 MiB of zeros."""
    return zip_of({"NO100006.png": b"\x00" * (100 * ONE_MIB)})


# ---------------------------------------------------------------- CSV


def csv_with_columns(count: int) -> bytes:
    """A header of `count` columns (the real ones, then unknown ones)."""
    extra = [f"column_{i}" for i in range(count - len(HEADER))]
    return to_csv([*HEADER, *extra], [student(1)])


def csv_row_of_cells(count: int) -> bytes:
    """A valid header, then a row of `count` cells."""
    return to_csv(HEADER, [student(1)]) + (",".join(["x"] * count) + "\r\n").encode()


def csv_with_cell(size: int) -> bytes:
    return to_csv(HEADER, [student(1, given_name="y" * size)])


def csv_nul_in_header() -> bytes:
    return to_csv(HEADER, [student(1)]).replace(b"surname", b"sur\x00name", 1)


def csv_unterminated_quote_at_end() -> bytes:
    return to_csv(HEADER, [student(1)]) + b'T00002,"never closed'


def zip_lying_about_size() -> bytes:
    """A photo archive whose member says it is 1 KiB but inflates to 20 MiB: the sizes in
    the zip's headers are the sender's word, not a fact."""
    real = zip_of({"NO100006.png": b"\x00" * (20 * ONE_MIB)})
    size = struct.pack("<I", 20 * ONE_MIB)
    return real.replace(size, struct.pack("<I", 1024))
