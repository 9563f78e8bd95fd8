"""Fit export files into Discord messages without ever silently cutting anything.

Discord limits a bot to 10 MiB per file (default, unboosted server), 25 MiB per request and 10
attachments per message. :func:`fit_for_upload` turns any list of files into batches that each
fit one message:

1. files within the per-file limit are sent untouched;
2. a larger file is zipped (deflate). CSV/JSON/Markdown shrink a lot, so this is usually enough;
3. if the zip is still too large it is split into numbered parts ``report.csv.zip.001``,
   ``.002``, ... whose concatenation is the zip, preceded by ``README-report.csv.txt``
   explaining, in plain words, how to join them (7-Zip opens ``.001`` directly).

Batches keep the original order (parts stay together and in sequence). Pure: zipfile is
standard library, and zips are built with fixed timestamps so the same input gives the same
bytes. The request limit counts file bytes only; Discord's multipart overhead is a few hundred
bytes per file, so callers wanting a margin can pass a slightly smaller ``per_request_limit``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

__all__ = ["MAX_FILES_PER_MESSAGE", "MiB", "fit_for_upload", "join_instructions"]

MiB = 1024 * 1024
#: Discord allows at most 10 attachments on one message.
MAX_FILES_PER_MESSAGE = 10

File = tuple[str, bytes]
_LIST_PARTS_UP_TO = 12


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    # A fixed date_time keeps output reproducible (zip stores local time, which would also leak
    # when the export was made).
    info = zipfile.ZipInfo(filename=name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def join_instructions(name: str, part_names: Sequence[str]) -> str:
    """The README sent with split parts: what happened and how to get the file back.

    Parts are listed (and a Windows command given) only when there are few, so the note stays
    small however large the file is.
    """
    zip_name = f"{name}.zip"
    few = len(part_names) <= _LIST_PARTS_UP_TO
    if few:
        listing = "\n".join(f"  {p}" for p in part_names)
    else:
        listing = f"  {part_names[0]} to {part_names[-1]}"
    lines = [
        f"{name} was too large to attach to a Discord message, even zipped.",
        f"So {zip_name} was split into {len(part_names)} parts:",
        listing,
        "",
        "A single part will not open on its own. Download every part into the same folder,",
        "then do ONE of these:",
        f"- With 7-Zip (Windows) or Keka (Mac): open {part_names[0]}; it joins the rest.",
    ]
    if few:
        plus = "+".join(f'"{p}"' for p in part_names)
        lines.append(f'- Windows Command Prompt: copy /b {plus} "{zip_name}"')
    lines += [
        f'- Mac or Linux Terminal: cat "{zip_name}".[0-9]* > "{zip_name}"',
        f"Then open {zip_name} as usual to find {name}.",
    ]
    return "\n".join(lines) + "\n"


def _prepare(name: str, data: bytes, per_file_limit: int) -> list[File]:
    if len(data) <= per_file_limit:
        return [(name, data)]
    zipped = _zip(name, data)
    if len(zipped) <= per_file_limit:
        return [(f"{name}.zip", zipped)]
    count = -(-len(zipped) // per_file_limit)
    width = max(3, len(str(count)))
    parts = [
        (f"{name}.zip.{i + 1:0{width}d}", zipped[i * per_file_limit : (i + 1) * per_file_limit])
        for i in range(count)
    ]
    readme = join_instructions(name, [p for p, _ in parts]).encode("utf-8")
    if len(readme) > per_file_limit:
        raise ValueError("per_file_limit is too small to hold the instructions for joining parts")
    return [(f"README-{name}.txt", readme), *parts]


def fit_for_upload(
    files: Sequence[tuple[str, bytes]],
    *,
    per_file_limit: int = 10 * MiB,
    per_request_limit: int = 25 * MiB,
    max_files_per_request: int = MAX_FILES_PER_MESSAGE,
) -> list[list[tuple[str, bytes]]]:
    """Group ``files`` into batches, one batch per message; see the module docstring.

    Every batch has at most ``max_files_per_request`` files totalling at most
    ``per_request_limit`` bytes, and no file exceeds ``per_file_limit``. No files gives ``[]``.
    """
    if per_file_limit < 1 or max_files_per_request < 1:
        raise ValueError("limits must be positive")
    if per_request_limit < per_file_limit:
        raise ValueError("per_request_limit must be at least per_file_limit")
    batches: list[list[File]] = []
    current: list[File] = []
    size = 0
    for name, data in files:
        for piece in _prepare(name, data, per_file_limit):
            piece_size = len(piece[1])
            if current and (
                size + piece_size > per_request_limit or len(current) >= max_files_per_request
            ):
                batches.append(current)
                current, size = [], 0
            current.append(piece)
            size += piece_size
    if current:
        batches.append(current)
    return batches
