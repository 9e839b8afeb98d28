"""Issue 19: the runner's rules pinned without decoding - options refused with their messages,
segment bounds, what a failing component leaves in a segment (and how it is named), the checks on
what components return, face tracking choices and the timeline's component list."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from emofuse.errors import EmofuseError, MediaError, PluginError
from emofuse.evidence import face_evidence
from emofuse.face_side import FaceSegment, SeenFace
from emofuse.media import MediaInfo
from emofuse.runner import PIPELINE_KINDS, AnalysisOptions, Pipeline, segment_bounds
from emofuse.types import EmotionScores, FaceBox

from .fakes import FAKE_CHOICES, one_hot

# --------------------------------------------------------------------------- AnalysisOptions


@pytest.mark.parametrize(("options", "message"), [
    ({"segment": 0}, "segment must be > 0 seconds, got 0"),
    ({"fps": 0}, "fps must be > 0 (or None: every frame), got 0"),
    ({"detect_fps": 0.0}, "detect_fps must be > 0 (math.inf: every frame), got 0.0"),
    ({"component_options": {"speaker": {}, "fusion": {}, "camera": {}}},
     "options for unknown component kinds ['camera', 'speaker']; kinds: face_detector, visual_classifier, "
     "face_embedder, voice_activity, audio_features, audio_classifier, fusion"),
    ({"min_speech": -0.01}, "min_speech must be within 0..1 (a share of the segment), got -0.01"),
    ({"min_speech": 1.01}, "min_speech must be within 0..1 (a share of the segment), got 1.01"),
    ({"start": -1.0}, "start must be >= 0 seconds, got -1.0"),
    ({"start": math.inf}, "start must be >= 0 seconds, got inf"),
    ({"start": 2.0, "end": 2.0}, "end must be after start (2 s), got 2.0"),
    ({"video": False, "audio": False}, "nothing to analyse: both the video and the audio are switched off"),
])
def test_analysis_options_are_refused_with_one_clear_line(options, message):
    with pytest.raises(EmofuseError) as caught:
        AnalysisOptions(**options)
    assert str(caught.value) == message


@pytest.mark.parametrize("options", [
    {"segment": 0.5}, {"fps": 0.5}, {"fps": None}, {"detect_fps": 0.5}, {"detect_fps": math.inf},
    {"min_speech": 0.0}, {"min_speech": 1.0}, {"start": 0.0}, {"start": 0.5}, {"start": 1.0, "end": 1.5},
    {"video": False}, {"audio": False}, {"smooth": "ema:3"}, {"component_options": {"fusion": {"floor": 0.1}}},
])
def test_analysis_options_at_their_limits_are_accepted(options):
    AnalysisOptions(**options)


def test_a_bad_smoothing_is_refused_as_an_option():
    with pytest.raises(EmofuseError, match=r"^smooth: "):
        AnalysisOptions(smooth="wobble")


def test_auto_names_resolve_per_kind_and_given_names_stay():
    from emofuse.plugins.embedders import default_embedder_name
    from emofuse.plugins.vad import default_vad_name

    auto = AnalysisOptions()
    assert auto.name_of("face_embedder") == default_embedder_name()
    assert auto.name_of("voice_activity") == default_vad_name()
    given = AnalysisOptions(face_embedder="mean-colour", voice_activity="loud", fusion="auto")
    assert [given.name_of(k) for k in ("face_embedder", "voice_activity", "fusion", "face_detector")] == [
        "mean-colour", "loud", "auto", "haar"]


# --------------------------------------------------------------------------- segment bounds


def test_segment_bounds_from_a_start_keep_the_files_times():
    assert segment_bounds(5.0, 1.0, start=2.0) == [(2.0, 3.0), (3.0, 4.0), (4.0, 5.0)]
    assert segment_bounds(5.1, 1.0, start=2.0) == [(2.0, 3.0), (3.0, 4.0), (4.0, 5.1)]


def test_segment_bounds_of_other_segment_lengths():
    assert segment_bounds(2.0, 0.5) == [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 2.0)]
    assert segment_bounds(4.3, 2.0) == [(0.0, 2.0), (2.0, 4.3)]  # 0.3 s < a quarter of 2 s: merged
    assert segment_bounds(4.6, 2.0) == [(0.0, 2.0), (2.0, 4.0), (4.0, 4.6)]


def test_a_tiny_tail_after_one_segment_is_merged_into_it():
    assert segment_bounds(1.1, 1.0) == [(0.0, 1.1)]
    assert segment_bounds(3.1, 1.0) == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.1)]


def _info(duration=4.0, **kw):
    return MediaInfo("clip.mp4", duration, True, True, **kw)


@pytest.mark.parametrize(("start", "end", "bounds"), [
    (0.0, None, [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]),
    (1.0, 3.0, [(1.0, 2.0), (2.0, 3.0)]),
    (2.5, 9.0, [(2.5, 3.5), (3.5, 4.0)]),  # an end past the file's: the file's
])
def test_bounds_of_a_part_of_the_file(fake_components, start, end, bounds):
    pipeline = Pipeline(AnalysisOptions(start=start, end=end, **FAKE_CHOICES))
    assert pipeline._bounds(_info()) == bounds


@pytest.mark.parametrize("start", [4.0, 5.0])
def test_a_start_at_or_past_the_end_is_refused(fake_components, start):
    pipeline = Pipeline(AnalysisOptions(start=start, **FAKE_CHOICES))
    with pytest.raises(MediaError) as caught:
        pipeline._bounds(_info())
    assert str(caught.value) == f"clip.mp4: start {start:g} s is at or past its end (4.00 s)"


# --------------------------------------------------------------------------- describe, _used, provenance


def test_describe_names_components_with_their_options(fake_components):
    options = AnalysisOptions(component_options={"fusion": {"face_weight": 0.5, "voice_weight": 2.0}}, **FAKE_CHOICES)
    described = Pipeline(options).describe()
    assert list(described) == list(PIPELINE_KINDS)
    assert described["fusion"] == "evidence(face_weight=0.5, voice_weight=2.0)"
    assert described["face_detector"] == "center" and described["voice_activity"] == "loud"


@pytest.mark.parametrize(("video", "audio", "persons", "left_out"), [
    (True, True, True, set()),
    (True, False, True, {"voice_activity", "audio_features", "audio_classifier"}),
    (False, True, True, {"face_detector", "visual_classifier", "face_embedder"}),
    (True, True, False, {"face_embedder"}),
    (True, False, False, {"face_embedder", "voice_activity", "audio_features", "audio_classifier"}),
])
def test_the_timeline_lists_only_the_components_a_file_used(fake_components, video, audio, persons, left_out):
    pipeline = Pipeline(AnalysisOptions(persons=persons, **FAKE_CHOICES))
    used = pipeline._used(video, audio)
    assert set(used) == set(PIPELINE_KINDS) - left_out
    assert used == {k: v for k, v in pipeline.describe().items() if k in used}


def test_provenance_hashes_the_model_of_each_built_component(fake_components, tmp_path):
    model = tmp_path / "weights.bin"
    model.write_bytes(b"abc")
    pipeline = Pipeline(AnalysisOptions(**FAKE_CHOICES))
    assert pipeline.provenance()["models"] == {}
    pipeline.fusion.model_path = str(model)  # built now, and says which model it loaded
    models = pipeline.provenance()["models"]
    assert list(models) == ["fusion"] and models["fusion"]["file"] == "weights.bin"


# --------------------------------------------------------------------------- _guard: a failing component


class _Raises:
    def __init__(self, exc):
        self.exc = exc

    def __call__(self, *args, **kwargs):
        raise self.exc


def _pipeline(**options) -> Pipeline:
    pipeline = Pipeline(AnalysisOptions(**{**FAKE_CHOICES, **options}))
    pipeline._fail_fast.start()
    return pipeline


def test_a_failure_is_recorded_in_the_segment_named_by_kind_name_and_plugin(fake_components):
    pipeline = _pipeline()
    errors = ["earlier"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pipeline._guard("visual_classifier", errors, _Raises(RuntimeError("out of cheese"))) is None
    message = "visual classifier 'brightness' (plugin fakes) failed: RuntimeError: out of cheese"
    assert errors == ["earlier", message]
    assert [(w.category, str(w.message)) for w in caught] == [(RuntimeWarning, message)]


def test_the_same_failure_is_warned_once_a_new_one_again(fake_components):
    pipeline = _pipeline()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        errors = []  # one segment
        for exc in (ValueError("a"), ValueError("a"), ValueError("b"), ValueError("a")):
            pipeline._guard("fusion", errors, _Raises(exc))
    a, b = (f"fusion 'evidence' (plugin fusion_strategies) failed: ValueError: {x}" for x in "ab")
    assert [str(w.message) for w in caught] == [a, b] and errors == [a, a, b, a]


def test_an_emofuse_error_is_not_a_component_failure(fake_components):
    pipeline = _pipeline()
    errors = []
    with pytest.raises(MediaError, match="^gone$"):
        pipeline._guard("audio_features", errors, _Raises(MediaError("gone")))
    assert errors == []


def test_guard_fails_fast_per_kind_counting_segments(fake_components):
    pipeline = _pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):  # two segments in which two kinds fail (twice each): no stop yet
            errors = []
            for kind in ("face_detector", "fusion", "face_detector", "fusion"):
                pipeline._guard(kind, errors, _Raises(RuntimeError("broken")))
        with pytest.raises(PluginError) as caught:
            pipeline._guard("fusion", [], _Raises(RuntimeError("broken")))
    assert str(caught.value) == ("fusion 'evidence' (plugin fusion_strategies) failed: RuntimeError: broken "
                                 "(in each of its first 3 segments; stopped)")


def test_guard_success_returns_the_result_and_a_working_kind_never_stops_the_file(fake_components):
    pipeline = _pipeline()
    assert pipeline._guard("fusion", [], lambda: 42) == 42
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(5):
            assert pipeline._guard("fusion", [], _Raises(RuntimeError("broken"))) is None


# --------------------------------------------------------------------------- voice: features, then classifier


class _Features:
    feature_spec = {"kind": "energy", "frame": 160}

    def __init__(self, out):
        self.out, self.calls = out, []

    def extract(self, samples, rate):
        self.calls.append((len(samples), rate))
        return self.out


class _Classifier:
    def __init__(self, out):
        self.out, self.seen = out, None

    def classify(self, features):
        self.seen = features
        return self.out


def _voice(features_out, classifier_out):
    pipeline = _pipeline()
    pipeline.audio_features = _Features(features_out)
    pipeline.audio_classifier = _Classifier(classifier_out)
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pipeline.classify_voice(np.zeros(320, np.float32), 16000, errors)
    return pipeline, result, errors


def test_classify_voice_hands_the_features_to_the_classifier(fake_components):
    scores = one_hot("angry")
    pipeline, result, errors = _voice([[1.0], [2.0]], scores)
    assert result is scores and errors == []
    assert pipeline.audio_features.calls == [(320, 16000)]
    assert pipeline.audio_classifier.seen.tolist() == [[1.0], [2.0]]


def test_a_classifier_may_pass_on_a_window(fake_components):
    _, result, errors = _voice([[1.0]], None)
    assert result is None and errors == []


@pytest.mark.parametrize(("features", "message"), [
    ([1.0, 2.0, 3.0], "extract() must return a 2-D numeric array, got shape (3,), float64"),
    ([[1.0]] * 2 + [[2.0]], None),
    ([["a"], ["b"]], "extract() must return a 2-D numeric array, got shape (2, 1), <U1"),
])
def test_features_must_be_a_2d_numeric_array(fake_components, features, message):
    pipeline, result, errors = _voice(features, one_hot("sad"))
    if message is None:
        assert errors == [] and result is not None
        return
    assert result is None and pipeline.audio_classifier.seen is None
    assert errors == [f"audio features 'energy' (plugin fakes) failed: TypeError: {message}"]


def test_a_failing_voice_classifier_is_named_as_such(fake_components):
    _, result, errors = _voice([[1.0]], {"angry": 1.0})
    assert result is None
    assert errors == ["audio classifier 'loud-angry' (plugin fakes) failed: TypeError: expected EmotionScores, got dict"]


# --------------------------------------------------------------------------- faces: detection and tracking


class _Detector:
    def __init__(self, detect=None, track=None):
        self._detect, self._track, self.calls = detect, track, []

    def detect(self, frame):
        self.calls.append(("detect", frame.shape))
        return self._detect(frame) if callable(self._detect) else self._detect


class _Tracking(_Detector):
    def track(self, frame, boxes):
        self.calls.append(("track", frame.shape, list(boxes)))
        return self._track(frame, boxes) if callable(self._track) else self._track


FRAME = np.zeros((24, 32, 3), np.uint8)
BOX = FaceBox(4, 4, 10, 10)
MOVED = FaceBox(6, 4, 10, 10)


@pytest.mark.parametrize(("options", "can_track", "track", "period"), [
    ({}, True, True, 1.0),                       # tracking: a full detection once a second
    ({}, False, False, 0.0),                     # no track(): detect on every analysed frame
    ({"track": False}, True, False, 0.0),
    ({"detect_fps": 2.0}, True, True, 0.5),
    ({"detect_fps": 4.0, "track": False}, False, False, 0.25),
])
def test_face_tracker_follows_the_options_and_the_detector(fake_components, options, can_track, track, period):
    pipeline = _pipeline(**options)
    pipeline.face_detector = _Tracking() if can_track else _Detector()
    tracker = pipeline.face_tracker()
    assert tracker.track is track and tracker.period == pytest.approx(period)


def test_find_faces_detects_then_tracks_from_the_last_boxes(fake_components):
    pipeline = _pipeline(detect_fps=1.0)
    detector = pipeline.face_detector = _Tracking([BOX], [MOVED])
    tracker, errors = pipeline.face_tracker(), []
    assert pipeline.find_faces(tracker, 0.0, FRAME, errors) == [BOX]
    assert pipeline.find_faces(tracker, 0.25, FRAME, errors) == [MOVED]
    assert detector.calls == [("detect", FRAME.shape), ("track", FRAME.shape, [BOX])]
    assert errors == []


def test_find_faces_without_tracking_reuses_the_boxes(fake_components):
    pipeline = _pipeline(detect_fps=1.0, track=False)
    detector = pipeline.face_detector = _Tracking([BOX], [MOVED])
    tracker = pipeline.face_tracker()
    assert pipeline.find_faces(tracker, 0.0, FRAME, []) == [BOX]
    assert pipeline.find_faces(tracker, 0.25, FRAME, []) == [BOX]
    assert [c[0] for c in detector.calls] == ["detect"]


def test_a_failing_detection_or_tracking_is_recorded(fake_components):
    pipeline = _pipeline(detect_fps=1.0)
    pipeline.face_detector = _Tracking(_Raises(RuntimeError("no eyes")), _Raises(RuntimeError("lost it")))
    tracker = pipeline.face_tracker()
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pipeline.find_faces(tracker, 0.0, FRAME, errors) is None
        pipeline.face_detector._detect = [BOX]
        assert pipeline.find_faces(tracker, 0.1, FRAME, errors) == [BOX]
        assert pipeline.find_faces(tracker, 0.2, FRAME, errors) == [BOX]  # tracking failed: the last boxes
    assert errors == ["face detector 'center' (plugin fakes) failed: RuntimeError: no eyes",
                      "face detector 'center' (plugin fakes) failed: RuntimeError: lost it"]


@pytest.mark.parametrize("method", ["detect", "track"])
def test_detector_results_must_be_face_boxes(fake_components, method):
    pipeline = _pipeline(detect_fps=1.0)
    bad = [(1, 2, 3, 4)]
    pipeline.face_detector = _Tracking([BOX] if method == "track" else bad, bad)
    tracker, errors = pipeline.face_tracker(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.find_faces(tracker, 0.0, FRAME, errors)
        pipeline.find_faces(tracker, 0.1, FRAME, errors)
    assert errors[0] == ("face detector 'center' (plugin fakes) failed: TypeError: "
                         "detect() must return FaceBox objects, got tuple")


# --------------------------------------------------------------------------- faces: one classifier call per segment


def _seen(faces, sampled=4):
    return FaceSegment([SeenFace(t, track, box, np.full((8, 8, 3), grey, np.uint8)) for t, track, box, grey in faces],
                       sampled=sampled)


def test_classify_faces_gives_the_scene_evidence_and_each_tracks_faces(fake_components):
    pipeline = _pipeline()
    faces = [(0.0, 1, BOX, 200), (0.0, 2, MOVED, 10), (0.25, 1, BOX, 210)]
    face, tracks = pipeline._classify_faces(_seen(faces), [])
    scores = [one_hot("happy"), one_hot("sad"), one_hot("happy")]
    assert face == face_evidence(scores, [BOX, MOVED, BOX], 2, 4)  # 2 distinct frame times of 4 analysed
    assert sorted(tracks) == [1, 2]
    assert tracks[1].scores == [scores[0], scores[2]] and tracks[1].boxes == [BOX, BOX]
    assert tracks[1].times == [0.0, 0.25]
    assert tracks[2].scores == [scores[1]] and tracks[2].boxes == [MOVED] and tracks[2].times == [0.0]
    assert pipeline.visual_classifier.calls == 1


def test_classify_faces_without_faces_does_not_call_the_classifier(fake_components):
    pipeline = _pipeline()
    assert pipeline._classify_faces(_seen([]), []) == (None, {})
    assert pipeline.visual_classifier.calls == 0


@pytest.mark.parametrize(("out", "message"), [
    ([one_hot("happy")], "TypeError: classify() returned 1 results for 2 crops"),
    ([one_hot("happy"), None], "TypeError: expected EmotionScores, got NoneType"),
])
def test_a_classifier_answer_that_does_not_fit_the_crops_is_a_failure(fake_components, out, message):
    pipeline = _pipeline()
    pipeline.visual_classifier = _Classifier(out)
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pipeline._classify_faces(_seen([(0.0, 1, BOX, 200), (0.0, 2, MOVED, 10)]), errors)
    assert result == (None, {})
    assert errors == [f"visual classifier 'brightness' (plugin fakes) failed: {message}"]


# --------------------------------------------------------------------------- fusion


class _Fusion:
    def __init__(self, out):
        self.out, self.seen = out, None

    def fuse(self, face, voice):
        self.seen = (face, voice)
        return self.out


def test_fuse_passes_both_modalities_and_checks_the_answer(fake_components):
    pipeline = _pipeline()
    answer = one_hot("fear")
    pipeline.fusion = _Fusion(answer)
    errors = []
    assert pipeline.fuse("face", "voice", errors) is answer and pipeline.fusion.seen == ("face", "voice")
    pipeline.fusion = _Fusion(None)
    assert pipeline.fuse(None, None, errors) is None and errors == []
    pipeline.fusion = _Fusion("happy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pipeline.fuse(None, None, errors) is None
    assert errors == ["fusion 'evidence' (plugin fusion_strategies) failed: TypeError: expected EmotionScores, got str"]


def test_fused_evidence_objects_become_their_scores(fake_components):
    from emofuse.types import FaceEvidence

    pipeline = _pipeline()
    scores = one_hot("surprise")
    pipeline.fusion = _Fusion(FaceEvidence(scores))
    assert pipeline.fuse(None, None, []) == scores
    assert isinstance(pipeline.fuse(None, None, []), EmotionScores)
