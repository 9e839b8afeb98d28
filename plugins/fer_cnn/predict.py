"""The one prediction path of `fer-cnn`, shared by evaluation, calibration and the plugin.

The network outputs logits. Test-time averaging averages the logits of several views of each
face in one batched, compiled call: the face's centre (`zoom` of its width, 95 % by default)
enlarged back to 48x48 (`zoom_average`), the face as it is (`face_view`; by default only when
there is no zoomed view), and the mirror image of each (`flip_average`). The default is 2 views,
the zoom and its mirror: the plain face, the one view that goes through no resampling, is the
weakest (docs/models.md, "Two views instead of four"). Probabilities are
softmax(logits / temperature).
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import numpy as np

from emofuse.calibration import (  # noqa: F401  (re-exported: the face model's calibration API)
    expected_calibration_error,
    fit_temperature,
    log_softmax,
    negative_log_likelihood,
    softmax,
)

from .preprocess import prepare_faces

#: Faces per compiled call in evaluation (2 or 4 times as many images with test-time views).
BATCH_SIZE = 512

#: The zoomed view keeps this share of the face's width and height, centred (46 of 48 pixels).
ZOOM = 0.95


def checked_face_view(face_view: bool | None, zoom_average: bool, zoom: float = ZOOM) -> bool:
    """Whether the plain face is a view: as given, or (None, the default) only without a zoomed view.

    ValueError for a view set that scores nothing or a zoom that is not a share of the face.
    """
    face_view = (not zoom_average) if face_view is None else bool(face_view)
    if not (face_view or zoom_average):
        raise ValueError("no test-time view left: face_view and zoom_average are both off")
    if not 0.5 <= zoom < 1.0:
        raise ValueError(f"zoom must be a share of the face between 0.5 and 1 (e.g. 0.95), got {zoom}")
    return face_view


def describe_views(flip_average: bool, zoom_average: bool, face_view: bool | None = None, zoom: float = ZOOM) -> str:
    """The view set in words, in `views_of` order: '2 views: zoom 95 %, mirrored zoom 95 %'."""
    face_view = checked_face_view(face_view, zoom_average, zoom)
    names = (["face"] if face_view else []) + ([f"zoom {100 * zoom:g} %"] if zoom_average else [])
    if flip_average:
        names += [f"mirrored {name}" for name in names]
    return f"{len(names)} view{'s' * (len(names) > 1)}: {', '.join(names)}"


def zoom_in(x: np.ndarray, keep: float = ZOOM) -> np.ndarray:
    """A batch (n, 48, 48, 1) -> the centre `keep` of each face (0.9: 44 of 48 pixels, 0.95: 46),
    enlarged back."""
    import cv2

    size = x.shape[1]
    o = int(round(size * (1 - keep) / 2))  # the same margin on every side: mirroring commutes with zooming
    crop = size - 2 * o
    out = np.empty_like(x)
    for i, face in enumerate(x):
        out[i, :, :, 0] = cv2.resize(face[o:o + crop, o:o + crop, 0], (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def views_of(x: np.ndarray, flip_average: bool, zoom_average: bool, face_view: bool | None = None,
             zoom: float = ZOOM) -> list[np.ndarray]:
    """The test-time views of a batch: [x] (`face_view`), + zoomed, + the mirror image of each."""
    face_view = checked_face_view(face_view, zoom_average, zoom)
    views = ([x] if face_view else []) + ([zoom_in(x, zoom)] if zoom_average else [])
    if flip_average:
        views += [v[:, :, ::-1] for v in views]
    return views


def predict_view_logits(model, faces: Sequence[np.ndarray] | np.ndarray, flip_average: bool = True,
                        batch_size: int = BATCH_SIZE, zoom_average: bool = True,
                        face_view: bool | None = None, zoom: float = ZOOM) -> np.ndarray:
    """Logits (views, n, 7) of every test-time view (in `views_of` order) of face crops (any size,
    RGB or gray) or a uint8 (n, 48, 48) array.

    Uses one compiled call (`compiled_forward`, ~2 ms overhead) per chunk of `batch_size` faces,
    never `model.predict` (~40 ms overhead per call).
    """
    face_view = checked_face_view(face_view, zoom_average, zoom)
    n_views = (face_view + zoom_average) * (1 + flip_average)
    if len(faces) == 0:
        return np.zeros((n_views, 0, model.output_shape[-1]), dtype=np.float64)
    chunks = []
    for start in range(0, len(faces), batch_size):
        x = prepare_faces(faces[start:start + batch_size])
        views = np.concatenate(views_of(x, flip_average, zoom_average, face_view, zoom))
        out = np.asarray(compiled_forward(model)(views), dtype=np.float64)
        chunks.append(out.reshape(n_views, len(x), -1))
    return np.concatenate(chunks, axis=1)


_FORWARD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_forward(model) -> Callable[[np.ndarray], np.ndarray]:
    """A Keras `model`'s inference as a function compiled once for any batch size (cached per
    model); a LiteRT model (`emofuse.plugins.litert.LiteRTModel`) is returned as it is.

    `model.predict_on_batch` compiles again for the second batch size it sees (0.35 s; the faces
    of a segment vary in number); this traces once, with the batch dimension left open.
    """
    from emofuse.plugins.litert import LiteRTModel

    if isinstance(model, LiteRTModel):  # a function already
        return model
    forward = _FORWARD.get(model)
    if forward is None:
        import tensorflow as tf

        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        owner = weakref.ref(model)  # the cache must not keep the model alive
        graph = tf.function(lambda x: owner()(x, training=False), input_signature=[spec])

        def forward(x: np.ndarray) -> np.ndarray:
            return graph(np.asarray(x, dtype=np.float32)).numpy()

        forward.graph = graph  # type: ignore[attr-defined]
        _FORWARD[model] = forward
    return forward


def predict_logits(model, faces: Sequence[np.ndarray] | np.ndarray, flip_average: bool = True,
                   batch_size: int = BATCH_SIZE, zoom_average: bool = True, face_view: bool | None = None,
                   zoom: float = ZOOM) -> np.ndarray:
    """Logits (n, 7) averaged over the test-time views (`views_of`, `predict_view_logits`)."""
    return predict_view_logits(model, faces, flip_average, batch_size, zoom_average, face_view, zoom).mean(axis=0)


def predict_probabilities(model, faces: Sequence[np.ndarray] | np.ndarray, flip_average: bool = True,
                          temperature: float = 1.0, batch_size: int = BATCH_SIZE,
                          zoom_average: bool = True, face_view: bool | None = None,
                          zoom: float = ZOOM) -> np.ndarray:
    """Probabilities (n, 7) over the canonical labels: softmax(predict_logits(...) / temperature)."""
    return softmax(predict_logits(model, faces, flip_average, batch_size, zoom_average, face_view, zoom), temperature)
