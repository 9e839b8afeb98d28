"""The fer-cnn prediction path (flip averaging, batching), temperature fitting and evaluation maths."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse.evaluation import confusion_matrix, evaluate_predictions, metrics_from_confusion
from emofuse.plugins.fer_cnn.predict import (
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    predict_logits,
    predict_probabilities,
    softmax,
)


def test_evaluation_matches_a_hand_computed_confusion_matrix():
    labels = ["a", "b", "c"]
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 0]
    y_pred = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]
    expected = np.array([[3, 1, 0],
                         [0, 1, 1],
                         [1, 0, 3]])
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 3), expected)
    m = evaluate_predictions(y_true, y_pred, labels)
    assert m["n"] == 10 and m["confusion"] == expected.tolist()
    assert m["accuracy"] == pytest.approx(7 / 10)
    # a: P 3/4, R 3/4; b: P 1/2, R 1/2; c: P 3/4, R 3/4
    assert m["per_class"]["a"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4})
    assert m["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["c"]["f1"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((0.75 + 0.5 + 0.75) / 3)


def test_macro_f1_ignores_absent_classes_and_counts_never_predicted_ones():
    # class 2 never occurs (ignored); class 1 occurs but is never predicted (F1 0)
    m = metrics_from_confusion(np.array([[2, 0, 0], [1, 0, 0], [0, 0, 0]]), ["a", "b", "c"])
    f1_a = 2 * (2 / 3) * 1 / (2 / 3 + 1)
    assert m["macro_f1"] == pytest.approx((f1_a + 0) / 2)
    assert m["per_class"]["b"]["precision"] == 0.0


def test_softmax_nll_and_temperature_fit():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 7))
    true_t = 2.5
    p = softmax(logits, true_t)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    labels = np.array([rng.choice(7, p=row) for row in p])
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(true_t, rel=0.05)
    best = negative_log_likelihood(logits, labels, fitted)
    assert best <= negative_log_likelihood(logits, labels, fitted * 1.05)
    assert best <= negative_log_likelihood(logits, labels, fitted / 1.05)
    assert best < negative_log_likelihood(logits, labels, 1.0)
    # hand value: uniform logits -> NLL log 7
    assert negative_log_likelihood(np.zeros((3, 7)), [0, 1, 2]) == pytest.approx(np.log(7))
    with pytest.raises(ValueError):
        softmax(logits, 0.0)
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 7)), np.zeros(0, int))


def test_expected_calibration_error_by_hand():
    # two bins used: confidence 0.9 (2 right of 2) and 0.6 (1 right of 2)
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 0, 0, 0])
    assert expected_calibration_error(p, labels, bins=10) == pytest.approx(0.5 * 0.1 + 0.5 * 0.1)


@pytest.fixture(scope="module")
def tiny_model():
    """A small untrained network with fixed weights (other tests reseed Keras; a bad draw can
    leave every ReLU of the head dead and the logits constant)."""
    import keras

    from emofuse.plugins.fer_cnn.model import build_face_model

    keras.utils.set_random_seed(1)
    return build_face_model(widths=(4, 8), dense=8)


def test_test_time_views_and_chunking(tiny_model):
    import cv2
    import tensorflow as tf

    rng = np.random.default_rng(1)
    faces = rng.integers(0, 256, (7, 48, 48), dtype=np.uint8)
    x = faces[..., None].astype(np.float32) / 255
    plain = tiny_model(x, training=False).numpy()
    mirrored = tiny_model(tf.reverse(x, axis=[2]), training=False).numpy()
    np.testing.assert_allclose(predict_logits(tiny_model, faces, flip_average=False, zoom_average=False), plain,
                               atol=1e-5)
    np.testing.assert_allclose(predict_logits(tiny_model, faces, zoom_average=False), (plain + mirrored) / 2,
                               atol=1e-5)
    # the face, its centre (44 px from offset 2) enlarged, and both mirrored: the 4 views shipped before
    zoomed = np.stack([cv2.resize(f[2:46, 2:46].astype(np.float32) / 255, (48, 48),
                                  interpolation=cv2.INTER_LINEAR) for f in faces])[..., None]
    zoom_plain = tiny_model(zoomed, training=False).numpy()
    zoom_mirrored = tiny_model(zoomed[:, :, ::-1], training=False).numpy()
    np.testing.assert_allclose(predict_logits(tiny_model, faces, face_view=True, zoom=0.9),
                               (plain + mirrored + zoom_plain + zoom_mirrored) / 4, atol=1e-5)
    np.testing.assert_allclose(predict_logits(tiny_model, faces, batch_size=3),
                               predict_logits(tiny_model, faces), atol=1e-5)
    # flip averaging makes a face and its mirror image score the same
    np.testing.assert_allclose(predict_logits(tiny_model, faces[:, :, ::-1]), predict_logits(tiny_model, faces),
                               atol=1e-5)
    assert not np.allclose(plain, mirrored, atol=1e-4)  # ...which the raw network does not


@pytest.mark.parametrize("keep, frame", [(0.9, 2), (0.95, 1)])
def test_zoom_in_keeps_the_centre_share(keep, frame):
    from emofuse.plugins.fer_cnn.predict import zoom_in

    x = np.zeros((2, 48, 48, 1), np.float32)
    x[:, frame:48 - frame, frame:48 - frame] = 1.0  # a black frame around a white face
    zoomed = zoom_in(x, keep)
    assert zoomed.shape == x.shape and zoomed.min() == 1.0  # the frame is cut off
    x[:, frame, frame] = 0.0  # ...but a dark pixel just inside it is kept
    assert zoom_in(x, keep)[0, 0, 0, 0] < 0.5
    x[1, 24, 24] = 0.0  # a dark centre pixel stays in the middle
    assert np.unravel_index(np.argmin(zoom_in(x, keep)[1, 2:46, 2:46, 0]), (44, 44)) in {(22, 22), (23, 23), (22, 23), (23, 22)}


def test_the_default_views_are_the_095_zoom_and_its_mirror(tiny_model):
    from emofuse.plugins.fer_cnn.predict import ZOOM, predict_view_logits

    faces = np.random.default_rng(5).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    assert ZOOM == 0.95
    np.testing.assert_allclose(predict_logits(tiny_model, faces),
                               predict_logits(tiny_model, faces, face_view=False, zoom=0.95), atol=1e-6)
    assert predict_view_logits(tiny_model, faces).shape == (2, 3, 7)
    # without a zoomed view the plain face is scored (not an error)
    assert predict_view_logits(tiny_model, faces, zoom_average=False).shape == (2, 3, 7)


def test_the_zoom_only_views_skip_the_plain_face(tiny_model):
    import cv2

    from emofuse.plugins.fer_cnn.predict import predict_view_logits

    rng = np.random.default_rng(4)
    faces = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    # zoom 0.95 keeps the centre 46 px (offset 1), enlarged back; with its mirror and no plain face
    zoomed = np.stack([cv2.resize(f[1:47, 1:47].astype(np.float32) / 255, (48, 48),
                                  interpolation=cv2.INTER_LINEAR) for f in faces])[..., None]
    expected = (tiny_model(zoomed, training=False).numpy() + tiny_model(zoomed[:, :, ::-1], training=False).numpy()) / 2
    np.testing.assert_allclose(predict_logits(tiny_model, faces, face_view=False, zoom=0.95), expected, atol=1e-5)
    assert predict_view_logits(tiny_model, faces, face_view=False).shape == (2, 5, 7)
    assert predict_view_logits(tiny_model, [], face_view=False, flip_average=False).shape == (1, 0, 7)
    # the plain face comes back with face_view: 4 views whose first is the face as it is
    each = predict_view_logits(tiny_model, faces, face_view=True, zoom=0.95)
    assert each.shape == (4, 5, 7)
    np.testing.assert_allclose(each[[1, 3]].mean(axis=0), expected, atol=1e-5)


@pytest.mark.parametrize("options, message", [
    (dict(face_view=False, zoom_average=False), "no test-time view left"),
    (dict(zoom=1.0), "zoom must be a share"),
    (dict(zoom=0.4), "zoom must be a share"),
])
def test_a_view_set_that_scores_nothing_is_refused(tiny_model, options, message):
    from emofuse.plugins.fer_cnn.predict import predict_view_logits

    faces = np.zeros((2, 48, 48), np.uint8)
    with pytest.raises(ValueError, match=message):
        predict_view_logits(tiny_model, faces, **options)
    with pytest.raises(ValueError, match=message):
        predict_view_logits(tiny_model, [], **options)


def test_views_are_described_in_their_order():
    from emofuse.plugins.fer_cnn.predict import describe_views

    assert describe_views(True, True) == "2 views: zoom 95 %, mirrored zoom 95 %"
    assert describe_views(True, True, face_view=True, zoom=0.9) == "4 views: face, zoom 90 %, mirrored face, mirrored zoom 90 %"
    assert describe_views(False, False) == "1 view: face"


def test_crops_of_any_size_go_through_the_same_preprocessing(tiny_model):
    rng = np.random.default_rng(2)
    crops = [rng.integers(0, 256, (90, 70, 3), dtype=np.uint8), rng.integers(0, 256, (48, 48), dtype=np.uint8)]
    probs = predict_probabilities(tiny_model, crops, temperature=2.0)
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs[1], predict_probabilities(tiny_model, crops[1][None], temperature=2.0)[0],
                               atol=1e-6)
    logits = predict_logits(tiny_model, crops)
    np.testing.assert_allclose(probs, softmax(logits / 2.0), atol=1e-9)
    assert predict_logits(tiny_model, []).shape == (0, 7)


def test_view_logits_come_in_views_of_order(tiny_model):
    from emofuse.plugins.fer_cnn.predict import predict_view_logits

    rng = np.random.default_rng(3)
    faces = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    each = predict_view_logits(tiny_model, faces, batch_size=2, face_view=True)
    assert each.shape == (4, 5, 7)
    np.testing.assert_allclose(each[0], predict_logits(tiny_model, faces, flip_average=False, zoom_average=False),
                               atol=1e-5)
    np.testing.assert_allclose(each[[0, 2]].mean(axis=0), predict_logits(tiny_model, faces, zoom_average=False),
                               atol=1e-5)
    assert predict_view_logits(tiny_model, [], face_view=True).shape == (4, 0, 7)


def test_the_compiled_forward_is_traced_once_for_any_batch_size(tiny_model):
    from emofuse.plugins.fer_cnn.predict import compiled_forward

    forward = compiled_forward(tiny_model)
    assert compiled_forward(tiny_model) is forward  # cached per model
    rng = np.random.default_rng(3)
    for n in (1, 5, 2, 9):
        x = rng.random((n, 48, 48, 1), dtype=np.float32)
        np.testing.assert_allclose(forward(x), tiny_model.predict_on_batch(x), rtol=1e-5, atol=1e-5)
    assert forward.graph.experimental_get_tracing_count() == 1
