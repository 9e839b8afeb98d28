"""FER2013 loading (Kaggle CSV, plain or .gz, and image folders), its errors, and preprocessing."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse.errors import DatasetError
from emofuse.plugins.fer_cnn.data import load_fer2013
from emofuse.plugins.fer_cnn.preprocess import prepare_faces, to_gray48

from .face_helpers import csv_rows, synthetic_faces, tiny_csv, tiny_folders, write_csv


@pytest.mark.parametrize("name", ["fer.csv", "fer.csv.gz"])
def test_csv_loads_pixels_labels_and_splits_exactly(tmp_path, name):
    path = tiny_csv(tmp_path / name, n_train=14, n_test=7)
    dataset = load_fer2013(path)
    assert set(dataset.splits) == {"Training", "PublicTest"}
    images, labels = synthetic_faces(7, seed=2)
    test = dataset.split("PublicTest")
    assert test.images.dtype == np.uint8 and test.images.shape == (7, 48, 48)
    np.testing.assert_array_equal(test.images, images)
    np.testing.assert_array_equal(test.labels, labels)
    assert len(dataset.split("Training")) == 14
    assert len(dataset.split("all")) == 21
    assert dataset.skipped == 0


def test_csv_without_usage_column_is_all_training(tmp_path):
    images, labels = synthetic_faces(3)
    rows = [row.rsplit(",", 1)[0] for row in csv_rows(images, labels, "Training")]
    dataset = load_fer2013(write_csv(tmp_path / "x.csv", rows, header="emotion,pixels"))
    assert len(dataset.split("Training")) == 3
    with pytest.raises(DatasetError, match="no PublicTest faces"):
        dataset.split("PublicTest")


def _bad_csv(tmp_path, bad_row: str):
    images, labels = synthetic_faces(3)
    rows = csv_rows(images, labels, "Training")
    rows.insert(1, bad_row)  # data line 2 of 4 -> file line 3
    return write_csv(tmp_path / "bad.csv", rows)


PIXELS = " ".join(["7"] * 2304)


@pytest.mark.parametrize("bad_row, message", [
    ("3," + " ".join(["7"] * 2303) + ",Training", "expected 2304 pixel values, found 2303"),
    ("3," + PIXELS.replace("7", "x", 1) + ",Training", "not all integers"),
    ("3," + PIXELS.replace("7", "300", 1) + ",Training", "outside 0-255"),
    ("7," + PIXELS + ",Training", "unknown emotion label '7'"),
    ("happy," + PIXELS + ",Training", "unknown emotion label 'happy'"),
    ("3," + PIXELS + ",Validation", "unknown Usage 'Validation'"),
])
def test_malformed_csv_row_names_the_line(tmp_path, bad_row, message):
    path = _bad_csv(tmp_path, bad_row)
    with pytest.raises(DatasetError) as info:
        load_fer2013(path)
    text = str(info.value)
    assert "line 3" in text and message in text and str(path) in text
    assert "\n" not in text


def test_skip_bad_skips_and_counts_csv_rows(tmp_path, caplog):
    images, labels = synthetic_faces(4)
    rows = csv_rows(images, labels, "Training")
    rows[1:1] = ["9," + PIXELS + ",Training", "1,1 2 3,Training"]
    dataset = load_fer2013(write_csv(tmp_path / "bad.csv.gz", rows), skip_bad=True)
    assert dataset.skipped == 2
    np.testing.assert_array_equal(dataset.split("Training").labels, labels)
    assert "skipped 2 malformed" in caplog.text


def test_csv_errors_for_missing_file_columns_and_empty(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_fer2013(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="missing column.*pixels"):
        load_fer2013(write_csv(tmp_path / "cols.csv", ["1,Training"], header="emotion,Usage"))
    with pytest.raises(DatasetError, match="empty"):
        load_fer2013(write_csv(tmp_path / "empty.csv", []))
    with pytest.raises(DatasetError, match="empty"):  # every row bad and skipped
        load_fer2013(write_csv(tmp_path / "allbad.csv", ["8," + PIXELS + ",Training"]), skip_bad=True)


def test_folders_load_and_resize_other_sizes(tmp_path):
    import cv2

    root = tiny_folders(tmp_path / "fer", n_train=14, n_test=7, size=96)
    # one RGB face of another shape, too
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:, :40] = (0, 0, 255)
    cv2.imwrite(str(root / "test" / "happy" / "rgb.png"), rgb)
    dataset = load_fer2013(root)
    test = dataset.split("PublicTest")
    assert test.images.shape == (8, 48, 48) and test.images.dtype == np.uint8
    assert len(dataset.split("Training")) == 14
    # sorted file order within a class folder: happy/rgb.png comes before happy/test_3.png
    happy = test.images[test.labels == 3]
    assert happy.shape[0] == 2
    assert happy[0][:, :20].mean() > 20 and happy[0][:, 28:].max() == 0  # red left half, resized
    images, labels = synthetic_faces(7, seed=4)
    np.testing.assert_array_equal(happy[1], images[3])  # 96 px nearest-upscaled -> back to the 48 px face


def test_folder_errors_name_the_file_or_folder(tmp_path):
    root = tiny_folders(tmp_path / "fer", n_train=7, n_test=7)
    broken = root / "test" / "sad" / "broken.png"
    broken.write_bytes(b"this is not a png")
    with pytest.raises(DatasetError, match="broken.png: unreadable image"):
        load_fer2013(root)
    dataset = load_fer2013(root, skip_bad=True)
    assert dataset.skipped == 1 and len(dataset.split("PublicTest")) == 7

    odd = tmp_path / "odd"
    (odd / "train" / "cats").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"train: no known class folders"):
        load_fer2013(odd)
    with pytest.raises(DatasetError, match="no split folders"):
        load_fer2013(odd / "train")
    empty = tmp_path / "empty"
    (empty / "test" / "angry").mkdir(parents=True)
    with pytest.raises(DatasetError, match="empty"):
        load_fer2013(empty)


def test_class_folder_aliases(tmp_path):
    import cv2

    for name in ("Happiness", "fearful", "surprised"):
        (tmp_path / "Test" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "Test" / name / "a.png"), np.full((48, 48), 100, np.uint8))
    dataset = load_fer2013(tmp_path)
    assert sorted(dataset.split("PublicTest").labels.tolist()) == [2, 3, 5]


def test_preprocessing_shapes_and_range():
    rng = np.random.default_rng(0)
    crops = [
        rng.integers(0, 256, (120, 100, 3), dtype=np.uint8),  # RGB, larger
        rng.integers(0, 256, (30, 30), dtype=np.uint8),  # gray, smaller
        rng.integers(0, 256, (64, 64, 4), dtype=np.uint8),  # RGBA
        np.full((48, 48, 1), 300.0),  # float, out of range: clipped
    ]
    batch = prepare_faces(crops)
    assert batch.shape == (4, 48, 48, 1) and batch.dtype == np.float32
    assert batch.min() >= 0.0 and batch.max() <= 1.0
    assert np.all(batch[3] == 1.0)
    gray = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(prepare_faces(gray)[..., 0], gray / 255.0, rtol=1e-6)
    assert prepare_faces([]).shape == (0, 48, 48, 1)
    # a gray crop given as RGB gives the same face
    face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    np.testing.assert_array_equal(to_gray48(np.dstack([face] * 3)), face)
    with pytest.raises(ValueError, match="expected a grayscale or RGB image"):
        to_gray48(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError):
        to_gray48(np.zeros((0, 0), np.uint8))
