"""Issue 19: Pipeline.analyze on the suite's tiny clips (media_dir: clip.mp4 is 3 s, white then
black from 1.5 s, a tone from 1.5 s; silent.mp4 2 s white, no sound; voice.wav 2 s of tone):
what a timeline holds for each choice of modalities, progress, part of a file, smoothing."""
from __future__ import annotations

import threading

import pytest

from emofuse import runner
from emofuse.errors import MediaError
from emofuse.media import probe
from emofuse.runner import PIPELINE_KINDS, AnalysisOptions, Pipeline

from .fakes import FAKE_CHOICES


def _analyze(path, on_segment=None, info=None, **options):
    return Pipeline(AnalysisOptions(**{**FAKE_CHOICES, **options})).analyze(path, on_segment, info)


def test_a_clip_with_picture_and_sound_uses_every_component(fake_components, media_dir):
    path = media_dir / "clip.mp4"
    timeline = _analyze(path)
    assert list(timeline.components) == list(PIPELINE_KINDS)
    assert timeline.source == str(path) and timeline.duration == probe(path).duration
    assert [(s.start, s.end) for s in timeline.segments] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    assert [s.faces for s in timeline.segments] == [1, 1, 0]
    assert [s.voice is not None for s in timeline.segments] == [False, True, True]
    assert all(s.fused is not None for s in timeline.segments)
    assert timeline.provenance["settings"]


def test_a_given_media_info_is_not_probed_again(fake_components, media_dir, monkeypatch):
    path = media_dir / "clip.mp4"
    info = probe(path)

    def no_probe(path):
        raise AssertionError("probed again")

    monkeypatch.setattr(runner, "probe", no_probe)
    assert len(_analyze(path, info=info)) == 3


def test_switching_the_video_off_gives_a_voice_only_timeline(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", video=False)
    assert set(timeline.components) == {"voice_activity", "audio_features", "audio_classifier", "fusion"}
    assert all(s.faces == 0 and s.face is None for s in timeline.segments)
    assert [s.voice is not None for s in timeline.segments] == [False, True, True]
    assert timeline.persons == () and timeline.sightings == ()


def test_switching_the_audio_off_gives_a_face_only_timeline(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", audio=False)
    assert set(timeline.components) == {"face_detector", "visual_classifier", "face_embedder", "fusion"}
    assert all(s.voice is None and s.voice_speech is None for s in timeline.segments)
    assert [s.faces for s in timeline.segments] == [1, 1, 0]


def test_a_file_without_the_only_wanted_stream_is_refused_naming_it(fake_components, media_dir):
    path = media_dir / "silent.mp4"
    with pytest.raises(MediaError) as caught:
        _analyze(path, video=False)
    assert str(caught.value) == f"{path}: has no audio stream to analyse"
    path = media_dir / "voice.wav"
    with pytest.raises(MediaError) as caught:
        _analyze(path, audio=False)
    assert str(caught.value) == f"{path}: has no video stream to analyse"


def test_progress_is_reported_after_each_segment_with_the_total(fake_components, media_dir):
    calls, threads = [], []

    def on_segment(result, total):
        calls.append((result.start, result.end, result.faces, total))
        threads.append(sorted(t.name for t in threading.enumerate() if t.name == "emofuse-faces"))

    timeline = _analyze(media_dir / "clip.mp4", on_segment)
    assert calls == [(s.start, s.end, s.faces, 3) for s in timeline.segments]
    assert threads[0] == ["emofuse-faces"]  # the frame side runs ahead on its own, named, thread


def test_without_persons_every_face_seen_is_still_kept(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", persons=False, fps=2.0)
    assert timeline.persons == () and "face_embedder" not in timeline.components
    # 2 analysed frames a second in the white 1.5 s: at 0, 0.5 and 1.0 s, one face each
    assert [(s.time, s.person) for s in timeline.sightings] == [(0.0, None), (0.5, None), (1.0, None)]


def test_with_persons_the_face_seen_is_a_person(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", fps=2.0)
    assert [p.id for p in timeline.persons] == ["P1"]
    assert [(s.time, s.person) for s in timeline.sightings] == [(0.0, "P1"), (0.5, "P1"), (1.0, "P1")]


def test_a_part_of_the_file_keeps_the_files_times(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", start=1.0)
    assert [(s.start, s.end) for s in timeline.segments] == [(1.0, 2.0), (2.0, 3.0)]
    assert [s.faces for s in timeline.segments] == [1, 0]  # white until 1.5 s
    assert [s.voice is not None for s in timeline.segments] == [True, True]  # the tone from 1.5 s


def test_smoothing_is_applied_to_the_finished_timeline(fake_components, media_dir):
    from emofuse.smoothing import parse_smoothing, smooth_timeline

    path = media_dir / "clip.mp4"
    plain = _analyze(path, segment=0.5)
    smoothed = _analyze(path, segment=0.5, smooth="ema:5")
    expected = smooth_timeline(plain, *parse_smoothing("ema:5"))
    assert [s.fused for s in smoothed.segments] == [s.fused for s in expected.segments]
    assert [s.fused for s in smoothed.segments] != [s.fused for s in plain.segments]


def test_the_share_of_speech_is_kept_to_a_thousandth(fake_components, media_dir):
    timeline = _analyze(media_dir / "clip.mp4", segment=0.7, video=False)
    shares = [s.voice_speech for s in timeline.segments]
    # the segment 1.4-2.1 s straddles the tone's start at 1.5 s: at most 6/7 of it is speech
    assert shares[:2] == [0.0, 0.0] and shares[3:] == [1.0, 1.0]
    assert 0.6 < shares[2] <= 0.858 and shares[2] == round(shares[2], 3)


class _FusionFailingOnce:
    """Fusion: the face, else the voice; raises on its second call only."""

    def __init__(self):
        self.calls = 0

    def fuse(self, face, voice):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("tilt")
        return (face or voice).scores


def test_a_fusion_failing_in_one_segment_leaves_only_that_segment_unfused(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(**{**FAKE_CHOICES, "persons": False}))
    pipeline.fusion = _FusionFailingOnce()
    with pytest.warns(RuntimeWarning, match="tilt"):
        timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert [s.errors for s in timeline.segments] == [
        (), ("fusion 'evidence' (plugin fusion_strategies) failed: RuntimeError: tilt",), ()]
    assert [s.fused is not None for s in timeline.segments] == [True, False, True]
    assert [s.face is not None for s in timeline.segments] == [True, True, False]  # kept where the fusion failed
    assert timeline.segments[1].voice is not None


class _VoiceRecorder:
    """Fusion: records the voice evidence it is given, answers with its scores."""

    def __init__(self):
        self.voices = []

    def fuse(self, face, voice):
        self.voices.append(voice)
        return voice.scores if voice is not None else None


class _NoMinWindow:
    """An audio classifier without `min_window`: it hears each segment's own samples."""

    def check_features(self, spec):
        pass

    def classify(self, features):
        from .fakes import one_hot

        return one_hot("angry")


@pytest.mark.parametrize(("classifier", "window"), [(None, 2.0), (_NoMinWindow, 0.5)])
def test_the_voice_evidence_says_what_the_classifier_heard(fake_components, media_dir, classifier, window):
    pipeline = Pipeline(AnalysisOptions(**{**FAKE_CHOICES, "segment": 0.5}))
    pipeline.fusion = _VoiceRecorder()
    if classifier is not None:
        pipeline.audio_classifier = classifier()
    pipeline.analyze(media_dir / "voice.wav")  # 2 s of tone at 22050 Hz
    voices = pipeline.fusion.voices
    assert len(voices) == 4 and all(v is not None for v in voices)
    assert [v.window for v in voices] == [window] * 4  # loud-angry wants 2 s around each segment
    assert [v.sample_rate for v in voices] == [22050] * 4  # the file's own rate, not the analysis rate
