from __future__ import annotations

import io
import random
import zipfile

import pytest

from bot.core.uploads import MAX_FILES_PER_MESSAGE, MiB, fit_for_upload

LIMIT = 4096
REQUEST = 10_000


def sizes_ok(batches: list[list[tuple[str, bytes]]], per_file: int, per_request: int) -> None:
    for batch in batches:
        assert batch
        assert len(batch) <= MAX_FILES_PER_MESSAGE
        assert sum(len(data) for _, data in batch) <= per_request
        assert all(len(data) <= per_file for _, data in batch)


def test_defaults_are_discords_limits() -> None:
    files = [("report.md", b"# hi\n"), ("chart.png", b"\x89PNG..."), ("r.csv", b"a,b\r\n")]
    assert fit_for_upload(files) == [files]
    assert MiB == 1024 * 1024


def test_small_files_pass_untouched_in_one_batch() -> None:
    files = [("a.csv", b"x" * 100), ("b.json", b"{}"), ("c.md", b"")]
    batches = fit_for_upload(files, per_file_limit=LIMIT, per_request_limit=REQUEST)
    assert batches == [files]
    assert batches[0][0][1] is files[0][1]


def test_nothing_to_send() -> None:
    assert fit_for_upload([]) == []


def test_too_many_bytes_for_one_request_are_split_into_batches_in_order() -> None:
    files = [(f"f{i}.txt", bytes([i]) * 4000) for i in range(5)]
    batches = fit_for_upload(files, per_file_limit=LIMIT, per_request_limit=REQUEST)
    assert [[name for name, _ in b] for b in batches] == [
        ["f0.txt", "f1.txt"], ["f2.txt", "f3.txt"], ["f4.txt"],
    ]  # fmt: skip
    assert [f for b in batches for f in b] == files
    sizes_ok(batches, LIMIT, REQUEST)


def test_too_many_files_for_one_message() -> None:
    files = [(f"f{i}.txt", b"x") for i in range(23)]
    batches = fit_for_upload(files)
    assert [len(b) for b in batches] == [10, 10, 3]
    assert [f for b in batches for f in b] == files


def test_oversized_compressible_file_is_zipped() -> None:
    data = b"brew,reflection,consent\r\n" * 2000  # 50 KB of CSV
    batches = fit_for_upload(
        [("report.csv", data)], per_file_limit=LIMIT, per_request_limit=REQUEST
    )
    assert len(batches) == 1 and len(batches[0]) == 1
    name, zipped = batches[0][0]
    assert name == "report.csv.zip"
    assert len(zipped) <= LIMIT
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.namelist() == ["report.csv"]
        assert archive.getinfo("report.csv").compress_type == zipfile.ZIP_DEFLATED
        assert archive.read("report.csv") == data


def test_zipping_is_deterministic() -> None:
    data = b"same" * 5000
    first = fit_for_upload([("a.csv", data)], per_file_limit=LIMIT, per_request_limit=REQUEST)
    second = fit_for_upload([("a.csv", data)], per_file_limit=LIMIT, per_request_limit=REQUEST)
    assert first == second


def test_huge_incompressible_file_is_split_into_parts_that_rebuild_the_zip() -> None:
    data = random.Random(42).randbytes(20_000)
    batches = fit_for_upload(
        [("small.md", b"report"), ("chart.png", data)],
        per_file_limit=LIMIT,
        per_request_limit=REQUEST,
    )
    sizes_ok(batches, LIMIT, REQUEST)
    flat = [f for b in batches for f in b]
    names = [name for name, _ in flat]
    assert names[0] == "small.md"
    assert names[1] == "README-chart.png.txt"
    parts = [(n, d) for n, d in flat if n.startswith("chart.png.zip.")]
    count = len(parts)
    assert count >= 5  # 20 kB that does not compress, 4 kB per part
    assert [n for n, _ in parts] == [f"chart.png.zip.{i:03d}" for i in range(1, count + 1)]
    assert names[2:] == [n for n, _ in parts]
    assert all(len(d) == LIMIT for _, d in parts[:-1])
    joined = b"".join(d for _, d in parts)
    assert -(-len(joined) // LIMIT) == count
    with zipfile.ZipFile(io.BytesIO(joined)) as archive:
        assert archive.read("chart.png") == data
    readme = dict(flat)["README-chart.png.txt"].decode()
    assert "chart.png.zip.001" in readme and parts[-1][0] in readme
    assert "copy /b" in readme and "cat " in readme and "7-Zip" in readme


def test_many_parts_get_wider_numbers() -> None:
    data = random.Random(1).randbytes(1100 * 1024)
    limit = 1024
    batches = fit_for_upload(
        [("big.bin", data)], per_file_limit=limit, per_request_limit=10 * limit
    )
    names = [n for b in batches for n, _ in b if n.startswith("big.bin.zip.")]
    assert names[0] == "big.bin.zip.0001" and len(names) > 999
    assert names == sorted(names)  # lexical order is numeric order, so `cat` globs work


def test_file_exactly_at_the_limit_is_not_zipped() -> None:
    batches = fit_for_upload([("a", b"x" * LIMIT)], per_file_limit=LIMIT, per_request_limit=LIMIT)
    assert batches == [[("a", b"x" * LIMIT)]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_file_limit": 0},
        {"per_file_limit": 100, "per_request_limit": 50},
        {"max_files_per_request": 0},
    ],
)
def test_bad_limits(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        fit_for_upload([("a", b"x")], **kwargs)


def test_limit_too_small_for_instructions_is_an_error_not_a_silent_cut() -> None:
    data = random.Random(3).randbytes(5000)
    with pytest.raises(ValueError, match="too small"):
        fit_for_upload([("x.bin", data)], per_file_limit=64, per_request_limit=1000)
