"""Handwriting sets: create, add, remove, rename, delete, the kept held-out split, zips in and out, hostile input."""

from __future__ import annotations

import io
import os
import struct
import zipfile

import numpy as np
import pytest

from netlib.handwriting.archive import MAX_ZIP_BYTES, export_zip, import_zip
from netlib.handwriting.sets import (EXAMPLE_SET, SetError, add_example, add_example_file, add_upload, create_set,
                                     delete_set, list_sets, load_set, remove_example, rename_set, safe_set_name)


def digit_image(seed: int) -> np.ndarray:
    """A 28x28 uint8 'digit': a bar of ink somewhere in the middle (the API takes any inked 28x28)."""
    a = np.zeros((28, 28), np.uint8)
    a[6:22, 10 + seed % 6: 13 + seed % 6] = 200 + seed % 50
    return a


def filled(root, name="mine", labels=(3, 3, 3, 3, 3, 7, 7)):
    create_set(root, name)
    for i, y in enumerate(labels):
        add_example(root, name, digit_image(i), y)
    return name


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_a_set_round_trips_and_lists_counts_per_digit(tmp_path):
    filled(tmp_path)
    s = load_set(tmp_path, "mine")
    assert s.images.shape == (7, 28, 28) and s.images.dtype == np.uint8
    assert s.labels.tolist() == [3, 3, 3, 3, 3, 7, 7]
    assert np.array_equal(s.images[2], digit_image(2))
    [info] = list_sets(tmp_path, example=False)
    assert (info.name, info.counts[3], info.counts[7], info.total, info.held_out) == ("mine", 5, 2, 7, 2)


def test_the_held_out_split_is_chosen_once_and_kept(tmp_path):
    filled(tmp_path, labels=[3] * 5)
    first = load_set(tmp_path, "mine").held_out.tolist()
    assert sum(first) == 1  # a fifth of 5, at least one
    for i in range(5):
        add_example(tmp_path, "mine", digit_image(i), 3)
    after = load_set(tmp_path, "mine").held_out.tolist()
    assert after[:5] == first and sum(after) == 2  # 10 examples: two held out, the first five unchanged


def test_one_example_of_a_digit_is_never_held_out(tmp_path):
    filled(tmp_path, labels=[1, 2, 2])
    s = load_set(tmp_path, "mine")
    assert s.held_out.tolist() == [False, False, True]


def test_removing_the_held_out_example_holds_out_another_and_keeps_the_rest(tmp_path):
    filled(tmp_path, labels=[3, 3, 3, 7, 7])
    held = load_set(tmp_path, "mine").held_out.tolist()
    assert held == [False, True, False, False, True]
    remove_example(tmp_path, "mine", 1)
    s = load_set(tmp_path, "mine")
    assert s.labels.tolist() == [3, 3, 7, 7] and s.held_out.tolist() == [False, True, False, True]
    assert len(list((tmp_path / "mine").glob("*.png"))) == 4


def test_an_example_is_removed_by_its_file_name_even_after_an_earlier_one_went(tmp_path):
    filled(tmp_path, labels=[3, 3, 7])
    file = add_example_file(tmp_path, "mine", digit_image(5), 7)
    assert load_set(tmp_path, "mine").files[-1] == file
    remove_example(tmp_path, "mine", 0)  # another tab: every index after it moves down by one
    assert remove_example(tmp_path, "mine", file=file)
    s = load_set(tmp_path, "mine")
    assert file not in s.files and s.labels.tolist() == [3, 7] and not (tmp_path / "mine" / file).exists()
    assert not remove_example(tmp_path, "mine", file=file)  # gone already: nothing else is removed
    assert len(load_set(tmp_path, "mine")) == 2


def test_rename_and_delete(tmp_path):
    filled(tmp_path)
    rename_set(tmp_path, "mine", "ours")
    assert [i.name for i in list_sets(tmp_path, example=False)] == ["ours"]
    with pytest.raises(SetError, match="already exists"):
        create_set(tmp_path, "ours")
    delete_set(tmp_path, "ours")
    assert list_sets(tmp_path, example=False) == []
    with pytest.raises(SetError, match="no set named ours"):
        load_set(tmp_path, "ours")


@pytest.mark.parametrize("label", [10, -1, 3.0, "3", True, None])
def test_a_label_outside_0_9_is_refused_and_nothing_is_written(tmp_path, label):
    filled(tmp_path)
    before = files_under(tmp_path)
    with pytest.raises(SetError, match="digit 0-9"):
        add_example(tmp_path, "mine", digit_image(0), label)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("image", [np.zeros((28, 28), np.uint8), np.ones((28, 28)), np.ones((20, 20), np.uint8)])
def test_an_image_that_is_not_an_inked_28x28_uint8_is_refused(tmp_path, image):
    filled(tmp_path)
    with pytest.raises(SetError):
        add_example(tmp_path, "mine", image, 3)


@pytest.mark.parametrize("name", ["", "../x", "/etc", "a/b", ".hidden", "x" * 61, "a b"])
def test_a_hostile_set_name_is_refused(tmp_path, name):
    with pytest.raises(SetError):
        create_set(tmp_path, name)
    assert files_under(tmp_path) == []


def test_safe_set_name_makes_a_valid_name_from_what_a_person_typed():
    assert safe_set_name("my digits!") == "my-digits"
    assert safe_set_name("../../") == ""


def test_export_then_import_gives_the_same_set(tmp_path):
    filled(tmp_path)
    data = export_zip(tmp_path, "mine")
    assert data == export_zip(tmp_path, "mine")
    assert import_zip(tmp_path, data, "copy") == "copy"
    a, b = load_set(tmp_path, "mine"), load_set(tmp_path, "copy")
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.held_out, b.held_out)
    with pytest.raises(SetError, match="already exists"):
        import_zip(tmp_path, data)  # its own folder name, "mine", is taken


def zip_of(entries: dict, links=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = 0o120777 << 16
            z.writestr(info, data)
    return buf.getvalue()


def good_entries(tmp_path) -> dict:
    filled(tmp_path, "src")
    with zipfile.ZipFile(io.BytesIO(export_zip(tmp_path, "src"))) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


@pytest.mark.parametrize("change, message", [
    (lambda e: {**e, "../evil.png": b"x"}, "outside"),
    (lambda e: {**e, "/etc/passwd": b"x"}, "outside"),
    (lambda e: {**e, "src/run.sh": b"rm -rf /"}, "not part of a handwriting set"),
    (lambda e: {**e, "src/sub/000001.png": b"x"}, "subfolders"),
    (lambda e: {k: v for k, v in e.items() if not k.endswith("set.json")}, "no set.json"),
    (lambda e: {k: v for k, v in e.items() if not k.endswith("000002.png")}, "lacks"),
    (lambda e: {**e, "src/set.json": b"{not json"}, "not valid JSON"),
    (lambda e: {**e, "src/set.json": e["src/set.json"].replace(b'"label": 3', b'"label": 12')}, "not a digit"),
    (lambda e: {**e, "src/000001.png": b"\x89PNG broken"}, "not a readable PNG"),
    (lambda e: {**e, "src/000001.png": b"\0" * 70000}, "at most"),
])
def test_a_hostile_zip_is_refused_with_one_line_and_nothing_is_written(tmp_path, change, message):
    entries = change(good_entries(tmp_path))
    before = files_under(tmp_path)
    with pytest.raises(SetError, match=message) as e:
        import_zip(tmp_path, zip_of(entries), "new")
    assert "\n" not in str(e.value) and "nothing was imported" in str(e.value)
    assert files_under(tmp_path) == before


def damaged(data: bytes, member: str) -> bytes:
    """data with every byte of member's compressed data but its first and last few inverted."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    out = bytearray(data)
    for i in range(start + 4, start + info.compress_size - 2):
        out[i] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA])
def test_a_zip_damaged_inside_its_compressed_data_is_refused_with_one_line(tmp_path, method):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in good_entries(tmp_path).items():
            z.writestr(name, data)
    before = files_under(tmp_path)
    with pytest.raises(SetError, match="damaged") as e:
        import_zip(tmp_path, damaged(buf.getvalue(), "src/set.json"), "new")
    assert "\n" not in str(e.value) and "nothing was imported" in str(e.value)
    assert files_under(tmp_path) == before


def test_a_zip_with_a_link_or_not_a_zip_or_too_big_is_refused(tmp_path):
    entries = good_entries(tmp_path)
    for data, message in [(zip_of(entries, links=("src/000001.png",)), "link"), (b"hello", "not a zip"),
                          (b"\0" * (MAX_ZIP_BYTES + 1), "at most")]:
        with pytest.raises(SetError, match=message):
            import_zip(tmp_path, data, "new")
    assert not (tmp_path / "new").exists()


def test_a_set_folder_with_hostile_files_is_refused_with_one_line_and_listed_with_its_problem(tmp_path):
    filled(tmp_path)
    png = tmp_path / "mine" / "000001.png"
    png.unlink()
    png.symlink_to("/dev/zero")
    with pytest.raises(SetError, match="000001.png") as e:
        load_set(tmp_path, "mine")
    assert "\n" not in str(e.value)
    (tmp_path / "other").mkdir()
    os.mkfifo(tmp_path / "other" / "set.json")
    rows = {i.name: i.problem for i in list_sets(tmp_path, example=False)}
    assert "FIFO" in rows["other"] and "000001.png" not in rows["mine"]  # list reads set.json only
    assert png.is_symlink()  # nothing was removed


def test_the_example_set_is_synthetic_read_only_and_holds_one_of_each_digit_out(tmp_path):
    s = load_set(tmp_path, EXAMPLE_SET)
    assert s.synthetic and s.counts() == [6] * 10
    assert np.bincount(s.labels[s.held_out], minlength=10).tolist() == [1] * 10
    assert list_sets(tmp_path)[0].synthetic
    with pytest.raises(SetError, match="cannot be changed"):
        add_example(tmp_path, EXAMPLE_SET, digit_image(0), 1)


def test_an_upload_goes_through_the_draw_pages_preprocessing(tmp_path):
    create_set(tmp_path, "mine")
    page = np.full((200, 160), 255, np.uint8)
    page[30:170, 70:84] = 0  # a dark 1 on white paper
    add_upload(tmp_path, "mine", page, 1)
    s = load_set(tmp_path, "mine")
    assert s.images[0].max() > 200 and s.images[0][0].max() == 0  # white ink on black, centred
    with pytest.raises(SetError, match="contrast|empty"):
        add_upload(tmp_path, "mine", np.full((50, 50), 255, np.uint8), 1)
