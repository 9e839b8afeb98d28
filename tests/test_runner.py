import numpy as np
import pytest

import emofuse
from emofuse import hookimpl
from emofuse.errors import EmofuseError, IncompatibleComponentsError, MediaError, RegistryError
from emofuse.media import AudioStream, iter_frames, probe
from emofuse.plugin_manager import collect_components
from emofuse.runner import AnalysisOptions, Pipeline

from .fakes import FAKE_CHOICES, BrightnessClassifier, Plugin


def groups(df, group):
    return df[[f"{group}_{label}" for label in emofuse.LABELS]]


def test_fused_timeline_of_a_clip(fake_components, media_dir):
    timeline = emofuse.analyze(media_dir / "clip.mp4", segment=0.5, **FAKE_CHOICES)
    df = timeline.to_dataframe()
    assert len(df) == 6 and df["start"].tolist() == [0, 0.5, 1, 1.5, 2, 2.5] and df["end"].iloc[-1] == 3.0
    # white picture first: faces, happy; black second half: no face
    assert (df["faces"][:3] == 1).all() and (df["faces"][3:] == 0).all()
    assert (groups(df, "face")[:3].idxmax(axis=1) == "face_happy").all()
    assert groups(df, "face")[3:].isna().all().all()
    # tone only in the second half: silence gives no voice scores, the tone is "angry"
    assert groups(df, "voice")[:3].isna().all().all()
    assert (groups(df, "voice")[3:].idxmax(axis=1) == "voice_angry").all()
    # fused follows whichever modality is present; each present group sums to 1
    assert df["label"].tolist() == ["happy"] * 3 + ["angry"] * 3
    for group in ("face", "voice", "fused"):
        sums = groups(df, group).sum(axis=1, min_count=1).dropna()
        assert np.allclose(sums, 1.0, atol=1e-3)
    assert timeline.components["fusion"] == "evidence" and timeline.components["face_detector"] == "center"


def test_faces_of_a_segment_are_classified_in_one_call(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(segment=1.0, fps=None, **FAKE_CHOICES))
    pipeline.analyze(media_dir / "clip.mp4")
    # 3 segments; only the two with faces call the classifier, once each, though each has 5-10 frames
    assert isinstance(pipeline.visual_classifier, BrightnessClassifier)
    assert pipeline.visual_classifier.calls == 2


def test_every_frame_and_sampled_frames(media_dir):
    info = probe(media_dir / "clip.mp4")
    every = list(iter_frames(info, None))
    sampled = list(iter_frames(info, 2.0))
    assert len(every) == 30
    assert [round(t, 2) for t, _ in sampled] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert sampled[0][1].shape == (120, 160, 3) and sampled[0][1].mean() > 200  # RGB white


@pytest.mark.parametrize("fps", [None, 4.0])
def test_detect_fps_reuses_boxes_between_detections(fake_components, media_dir, fps):
    pipeline = Pipeline(AnalysisOptions(fps=fps, detect_fps=2.0, **FAKE_CHOICES))
    detector = pipeline.face_detector
    seen = []
    original = detector.detect
    detector.detect = lambda frame: seen.append(1) or original(frame)
    timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert len(seen) == 6  # 3 s at 2 detections per second, for 30 (or 12 sampled) frames
    assert timeline.segments[0].faces == 1


def test_video_without_soundtrack_gives_a_face_only_timeline(fake_components, media_dir):
    timeline = emofuse.analyze(media_dir / "silent.mp4", **FAKE_CHOICES)
    assert all(s.voice is None and s.face is not None for s in timeline.segments)
    assert "audio_classifier" not in timeline.components


def test_audio_file_gives_a_voice_only_timeline(fake_components, media_dir):
    timeline = emofuse.analyze(media_dir / "voice.wav", **FAKE_CHOICES)
    assert len(timeline) == 2
    assert all(s.face is None and s.voice.label == "angry" and s.faces == 0 for s in timeline.segments)
    assert "face_detector" not in timeline.components


def test_switching_off_the_only_modality_is_an_error(fake_components, media_dir):
    with pytest.raises(MediaError, match="has no video stream"):
        emofuse.analyze(media_dir / "voice.wav", audio=False, **FAKE_CHOICES)


def test_audio_stream_windows_match_a_full_decode(media_dir):
    import librosa

    full, _ = librosa.load(media_dir / "voice.wav", sr=16000, mono=True)
    with AudioStream(media_dir / "voice.wav", 16000, keep=0.5) as stream:
        a = stream.window(0.25, 0.75)
        b = stream.window(1.5, 2.5)  # runs past the end: zero padded
    assert a.shape == (8000,) and b.shape == (16000,)
    assert np.corrcoef(a, full[4000:12000])[0, 1] > 0.99
    assert np.abs(b[8000:]).max() == 0 and np.abs(b[:7000]).max() > 0.05


def test_audio_stream_memory_stays_bounded(media_dir):
    with AudioStream(media_dir / "voice.wav", 16000, keep=0.25) as stream:
        for start in np.arange(0, 2, 0.25):
            stream.window(start, start + 0.25)
        assert stream._buffer.size <= 16000  # never the whole file plus context


def test_unknown_component_fails_before_decoding(fake_components):
    with pytest.raises(RegistryError, match="unknown fusion strategy 'median'; available: .*weighted"):
        Pipeline(AnalysisOptions(fusion="median"))


def test_feature_mismatch_is_refused_with_a_clear_message(fake_components, media_dir):
    with pytest.raises(IncompatibleComponentsError, match="needs energy features"):
        emofuse.analyze(media_dir / "voice.wav", audio_classifier="loud-angry", audio_features="mfcc")


def test_bad_options_are_clear_errors():
    with pytest.raises(EmofuseError, match="^segment must be > 0"):
        AnalysisOptions(segment=0)
    with pytest.raises(EmofuseError, match="unknown component kinds"):
        AnalysisOptions(component_options={"speaker": {}})
    with pytest.raises(TypeError, match="unknown choices"):
        emofuse.analyze("x.mp4", colour=True)


def test_component_options_reach_the_component(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(component_options={"fusion": {"face_weight": 0.0}}, **FAKE_CHOICES))
    assert pipeline.fusion.face_weight == 0.0
    assert pipeline.describe()["fusion"] == "evidence(face_weight=0.0)"


class _FlakyClassifier(BrightnessClassifier):
    """Fails on its second call only."""

    seen = 0

    def classify(self, crops):
        self.seen += 1
        if self.seen == 2:
            raise RuntimeError("out of cheese")
        return super().classify(crops)


class _WrongType(BrightnessClassifier):
    def classify(self, crops):
        return [{"happy": 1.0} for _ in crops]


class _Misbehaving:
    @hookimpl
    def register_visual_classifiers(self, register):
        register("flaky", _FlakyClassifier)
        register("wrong-type", _WrongType)


def _with_misbehaving(monkeypatch):
    from emofuse import api, plugin_manager

    components = collect_components(extra_plugins={"fakes": Plugin(), "misbehaving": _Misbehaving()})
    monkeypatch.setattr(plugin_manager, "_cached", components)
    monkeypatch.setattr(api, "_pipelines", {})


def test_a_component_failing_on_one_segment_is_recorded_there(monkeypatch, media_dir):
    _with_misbehaving(monkeypatch)
    choices = {**FAKE_CHOICES, "visual_classifier": "flaky"}
    with pytest.warns(RuntimeWarning, match="visual classifier 'flaky' \\(plugin misbehaving\\) failed: RuntimeError: out of cheese"):
        timeline = emofuse.analyze(media_dir / "clip.mp4", segment=0.5, **choices)
    bad = timeline.segments[1]
    assert bad.face is None and "out of cheese" in bad.errors[0]
    assert timeline.segments[0].face is not None and timeline.segments[2].face is not None
    assert timeline.to_dataframe()["errors"][1].startswith("visual classifier 'flaky'")


def test_a_component_returning_the_wrong_type_is_never_a_silent_answer(monkeypatch, media_dir):
    _with_misbehaving(monkeypatch)
    with pytest.warns(RuntimeWarning, match="expected EmotionScores, got dict"):
        timeline = emofuse.analyze(media_dir / "clip.mp4", **{**FAKE_CHOICES, "visual_classifier": "wrong-type"})
    assert all(s.face is None for s in timeline.segments)
    assert all(s.errors for s in timeline.segments[:2])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".avi", ".webm", ".flac", ".mp3"])
def test_opens_what_ffmpeg_opens(fake_components, tmp_path, suffix):
    from emofuse.testing import write_media

    path = write_media(tmp_path / f"clip{suffix}", 2.0, fps=10, size=(160, 120), audio="speech")
    timeline = emofuse.analyze(path, **FAKE_CHOICES)
    assert len(timeline) == 2
    assert all(s.voice is not None for s in timeline.segments)
    audio_only = suffix in (".flac", ".mp3")
    assert all((s.face is None) == audio_only for s in timeline.segments)


def test_segment_bounds_merge_a_tiny_tail():
    from emofuse.runner import segment_bounds

    assert segment_bounds(3.0, 1.0) == [(0, 1), (1, 2), (2, 3.0)]
    assert segment_bounds(2.06, 1.0) == [(0, 1), (1, 2.06)]
    assert segment_bounds(2.5, 1.0) == [(0, 1), (1, 2), (2, 2.5)]
    assert segment_bounds(0.1, 1.0) == [(0, 0.1)]


def test_sampling_keeps_its_rate_when_it_does_not_divide_the_video_fps(media_dir):
    info = probe(media_dir / "clip.mp4")  # 10 frames/s
    times = [round(t, 2) for t, _ in iter_frames(info, 4.0)]
    assert times == [0.0, 0.3, 0.5, 0.8, 1.0, 1.3, 1.5, 1.8, 2.0, 2.3, 2.5, 2.8]


class _BrokenFeatures:
    feature_spec = {"kind": "energy", "frame": 160}

    def extract(self, samples, sample_rate):
        raise ValueError("no codec for that")


class _BrokenFeaturesPlugin:
    @hookimpl
    def register_audio_feature_extractors(self, register):
        register("broken-energy", _BrokenFeatures)


def test_a_failing_feature_extractor_is_named_as_such(monkeypatch, media_dir):
    from emofuse import api, plugin_manager

    components = collect_components(extra_plugins={"fakes": Plugin(), "broken": _BrokenFeaturesPlugin()})
    monkeypatch.setattr(plugin_manager, "_cached", components)
    monkeypatch.setattr(api, "_pipelines", {})
    with pytest.warns(RuntimeWarning, match="audio features 'broken-energy' \\(plugin broken\\) failed: ValueError"):
        timeline = emofuse.analyze(media_dir / "voice.wav", **{**FAKE_CHOICES, "audio_features": "broken-energy"})
    assert all(s.voice is None and s.errors for s in timeline.segments)


def test_frames_between_samples_reach_the_between_callback(media_dir):
    info = probe(media_dir / "clip.mp4")  # 3 s at 10 frames a second
    seen = []
    sampled = [t for t, _ in iter_frames(info, 2.0, between=lambda t, f: seen.append((round(t, 2), f.shape)),
                                         between_fps=5.0)]
    assert [round(t, 2) for t in sampled] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    # every 2nd frame between the samples (5 a second): 0.2 s after each sample
    assert [t for t, _ in seen] == [0.2, 0.4, 0.7, 0.9, 1.2, 1.4, 1.7, 1.9, 2.2, 2.4, 2.7, 2.9]
    assert seen[0][1] == (120, 160, 3)
    every = []
    list(iter_frames(info, 2.0, between=lambda t, f: every.append(t)))
    assert len(every) == 30 - 6
