"""Issue 19: one file's frame side (emofuse.walk) pinned without decoding: which frames each
segment gets, how the frames are asked for (start, sampling, the mouth-motion frames in between),
and what is kept for the persons."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from emofuse import walk as walk_module
from emofuse.media import MediaInfo
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.walk import MOUTH_EVERY, FrameCursor, FrameWalk

from .fakes import FAKE_CHOICES

# --------------------------------------------------------------------------- FrameCursor


class _Frames:
    """A forward-only frame iterator with a clean-up, as the decoder's."""

    def __init__(self, times, grey=None, shape=(2, 2, 3)):
        self._it = iter([(t, np.full(shape, i if grey is None else grey, np.uint8)) for i, t in enumerate(times)])
        self.closed = 0
        self.pulled = 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._it)
        self.pulled += 1
        return item

    def close(self):
        self.closed += 1


def _times(frames):
    return [t for t, _ in frames]


def test_each_segment_gets_the_frames_before_its_end():
    frames = _Frames([0.0, 0.4, 0.8, 1.0, 1.2, 2.6])
    cursor = FrameCursor(frames)
    assert _times(cursor.until(1.0)) == [0.0, 0.4, 0.8]  # a frame at the end belongs to the next one
    assert _times(cursor.until(2.0)) == [1.0, 1.2]
    assert _times(cursor.until(2.5)) == []  # a segment without frames
    assert _times(cursor.until(3.0)) == [2.6]
    assert _times(cursor.until(4.0)) == []  # the stream has ended
    assert _times(cursor.until(5.0)) == []


@pytest.mark.parametrize("early", [1e-9, 5e-10])
def test_a_frame_a_rounding_error_before_the_end_belongs_to_the_next_segment(early):
    cursor = FrameCursor(_Frames([0.5, 1.0 - early, 1.5]))
    assert _times(cursor.until(1.0)) == [0.5]
    assert _times(cursor.until(2.0)) == [1.0 - early, 1.5]


def test_frames_are_decoded_one_at_a_time_as_they_are_handled():
    frames = _Frames([0.0, 0.5, 1.5])
    cursor = FrameCursor(frames)
    first = cursor.until(1.0)
    time, frame = next(first)
    assert time == 0.0 and frame[0, 0, 0] == 0 and frames.pulled == 1
    assert _times(first) == [0.5] and frames.pulled == 3  # the 1.5 s frame waits for its segment
    assert [(t, f[0, 0, 0]) for t, f in cursor.until(2.0)] == [(1.5, 2)]


def test_close_releases_the_decoder_if_it_can_be_closed():
    frames = _Frames([0.0])
    FrameCursor(frames).close()
    assert frames.closed == 1
    FrameCursor(iter([])).close()  # a plain iterator: nothing to release


# --------------------------------------------------------------------------- FrameWalk.segments


@pytest.fixture
def fake_frames(monkeypatch):
    """iter_frames replaced by grey frames at the sampling rate; records how it was asked."""
    calls = []

    class Stream(_Frames):
        def stop(self):
            return None

    def iter_frames(info, sample_fps, between=None, between_fps=0.0, start=0.0):
        calls.append({"fps": sample_fps, "start": start, "between": between, "between_fps": between_fps})
        step = 1.0 / (sample_fps or info.fps)
        times = [start + i * step for i in range(int(round((info.duration - start) / step)))]
        return Stream(times, grey=200, shape=(60, 80, 3))

    monkeypatch.setattr(walk_module, "iter_frames", iter_frames)
    return calls


def _walk(bounds, fps=30.0, speakers=True, **options):
    pipeline = Pipeline(AnalysisOptions(**{**FAKE_CHOICES, **options}))
    info = MediaInfo("clip.mp4", bounds[-1][1], True, True, fps=fps, width=80, height=60)
    return FrameWalk(pipeline, info, bounds, speakers=speakers)


@pytest.mark.parametrize(("fps", "between_fps"), [(30.0, 15.0), (0.0, 12.5)])
def test_mouth_motion_frames_are_asked_for_at_half_the_video_rate(fake_components, fake_frames, fps, between_fps):
    assert MOUTH_EVERY == 2
    walk = _walk([(0.0, 1.0), (1.0, 2.0)], fps=fps)
    segments = list(walk.segments())
    call, = fake_frames
    assert call["between_fps"] == between_fps and call["between"] == walk.mouths.between
    assert call["fps"] == 4.0 and call["start"] == 0.0
    assert [s.sampled for s in segments] == [4, 4] and [s.most for s in segments] == [1, 1]


def test_frames_are_asked_for_from_the_first_segments_start(fake_components, fake_frames):
    walk = _walk([(2.0, 3.0), (3.0, 4.0)], fps=10.0)
    segments = list(walk.segments())
    assert fake_frames[0]["start"] == 2.0
    assert [s.sampled for s in segments] == [4, 4]
    assert [f.time for f in segments[0].faces] == [2.0, 2.25, 2.5, 2.75]


@pytest.mark.parametrize(("persons", "speakers"), [(False, True), (True, False)])
def test_no_mouth_motion_without_persons_or_a_soundtrack(fake_components, fake_frames, persons, speakers):
    walk = _walk([(0.0, 1.0)], persons=persons, speakers=speakers)
    list(walk.segments())
    assert walk.speakers is None and walk.mouths is None
    assert fake_frames[0]["between"] is None and fake_frames[0]["between_fps"] == 0.0


def test_speakers_are_looked_for_by_default(fake_components, fake_frames):
    pipeline = Pipeline(AnalysisOptions(**FAKE_CHOICES))
    walk = FrameWalk(pipeline, MediaInfo("clip.mp4", 1.0, True, True, fps=25.0), [(0.0, 1.0)])
    assert walk.speakers is not None and walk.mouths is not None
    list(walk.segments())
    assert fake_frames[0]["between"] is not None


def test_tracks_get_embeddings_only_when_persons_are_wanted(fake_components, fake_frames):
    with_persons = _walk([(0.0, 1.0), (1.0, 2.0)])
    list(with_persons.segments())
    tracks = list(with_persons.book.tracks.values())
    assert len(tracks) == 1 and tracks[0].embeddings is not None
    assert tracks[0].embeddings.shape[1] == 3  # the fake embedder: the mean colour
    scene = _walk([(0.0, 1.0), (1.0, 2.0)], persons=False)
    list(scene.segments())
    assert all(t.embeddings is None for t in scene.book.tracks.values())


def test_hear_keeps_the_soundtrack_only_for_the_speaker_finder(fake_components):
    samples = np.sin(np.linspace(0, 400, 16000)).astype(np.float32)
    listening = _walk([(0.0, 1.0)])
    listening.hear(0.0, samples, 16000)
    times, values = listening.envelope.series()
    assert times.size == values.size > 0 and times[0] == 0.0
    deaf = _walk([(0.0, 1.0)], speakers=False)
    deaf.hear(0.0, samples, 16000)
    assert deaf.envelope.series()[0].size == 0


def test_a_failing_embedder_is_warned_not_raised(fake_components):
    walk = _walk([(0.0, 1.0)])

    class Broken:
        def embed(self, crops):
            raise RuntimeError("no model")

    walk.pipeline.face_embedder = Broken()
    walk.pipeline._fail_fast.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vectors = walk._embed([np.zeros((4, 4, 3), np.uint8)] * 2)
    assert vectors is None  # no embeddings: TrackBook leaves the track without (a person of its own)
    assert [str(w.message) for w in caught] == [
        "face embedder 'mean-colour' (plugin fakes) failed: RuntimeError: no model"]


# --------------------------------------------------------------------------- FrameWalk.people, through analyze


class _SizedFace:
    """A face in the middle of any frame that is not black: 40 px on grey 201, 20 px otherwise."""

    def detect(self, frame):
        from emofuse import FaceBox

        grey = int(frame[0, 0, 0])
        if grey < 5:
            return []
        size = 40 if grey == 201 else 20
        return [FaceBox(40 - size // 2, 30 - size // 2, size, size)]


class _SameEverywhere:
    """A face embedder that cannot tell faces apart and does not say what distance is the same person."""

    def embed(self, crops):
        return np.ones((len(crops), 3))


@pytest.fixture
def scripted_frames(monkeypatch):
    """iter_frames replaced by frames at the sampling rate whose grey level `grey(t)` scripts."""
    script = {}

    class Stream(_Frames):
        def stop(self):
            return None

    def iter_frames(info, sample_fps, between=None, between_fps=0.0, start=0.0):
        step = 1.0 / sample_fps
        times = [start + i * step for i in range(int(round((info.duration - start) / step)))]
        stream = Stream([])
        stream._it = iter([(t, np.full((60, 80, 3), script["grey"](t), np.uint8)) for t in times])  # or an RGB
        return stream

    monkeypatch.setattr(walk_module, "iter_frames", iter_frames)
    return script


def _people(media_dir, scripted_frames, grey, embedder=None, speaker=None, monkeypatch=None):
    """Analyse voice.wav (2 s of tone) as if it had the scripted picture (4 frames a second)."""
    from emofuse import speaking

    scripted_frames["grey"] = grey
    if speaker is not None:
        monkeypatch.setattr(speaking.SpeakerFinder, "speaker", speaker)
    path = media_dir / "voice.wav"
    info = MediaInfo(path, 2.0, True, True, fps=25.0, width=80, height=60, audio_rate=22050)
    pipeline = Pipeline(AnalysisOptions(**{**FAKE_CHOICES, "segment": 0.5}))
    pipeline.face_detector = _SizedFace()
    if embedder is not None:
        pipeline.face_embedder = embedder
    return pipeline.analyze(path, info=info)


def _two_appearances(t):
    """A 20 px face for 0.5 s, nothing for 1 s (longer than a track may pause), a 40 px face."""
    return 200 if t < 0.5 else (0 if t < 1.5 - 1e-9 else 201)


def test_an_embedder_without_a_same_person_distance_never_merges_tracks(fake_components, media_dir, scripted_frames):
    timeline = _people(media_dir, scripted_frames, _two_appearances, embedder=_SameEverywhere())
    assert [p.id for p in timeline.persons] == ["P1", "P2"]
    assert [s.person for s in timeline.sightings] == ["P1", "P1", "P2", "P2"]


def test_a_persons_picture_is_their_largest_face(fake_components, media_dir, scripted_frames):
    small, large = (p.face for p in _people(media_dir, scripted_frames, _two_appearances,
                                            embedder=_SameEverywhere()).persons)
    assert small.shape[0] < large.shape[0]
    timeline = _people(media_dir, scripted_frames, _two_appearances)  # one colour: one person in two tracks
    assert [p.id for p in timeline.persons] == ["P1"]
    assert timeline.persons[0].face.shape == large.shape
    assert [s.person for s in timeline.sightings] == ["P1"] * 4


def test_the_speaker_finder_is_asked_only_where_a_voice_and_a_person_are(fake_components, media_dir, scripted_frames,
                                                                          monkeypatch):
    calls = []

    def speaker(self, times, envelope, start, end, visible):
        calls.append((start, end, sorted(visible), times.size == envelope.size > 0, times[0]))
        return sorted(visible)[0], {}

    # a face from 0.5 s to 1.5 s only; the tone all along
    timeline = _people(media_dir, scripted_frames, lambda t: 200 if 0.5 <= t < 1.5 else 0, speaker=speaker,
                       monkeypatch=monkeypatch)
    keys = [c[2] for c in calls]
    assert [(c[0], c[1]) for c in calls] == [(0.5, 1.0), (1.0, 1.5)] and keys[0] == keys[1] and len(keys[0]) == 1
    assert all(c[3] and c[4] == 0.0 for c in calls)  # the whole soundtrack's envelope, from 0 s
    assert [s.speaker for s in timeline.segments] == [None, "P1", "P1", None]


class _BrokenEmbedder:
    same_person = 20.0

    def embed(self, crops):
        raise RuntimeError("no model")


def test_a_failing_embedder_does_not_stop_the_analysis(fake_components, media_dir, scripted_frames):
    """Issue 19: a track with several crops made the failed embedding crash the file (a reshape
    ValueError) instead of being warned about."""
    # crops at 0 and 0.5 s; the track ends (and is embedded) mid-file, more than 1 s later
    with pytest.warns(RuntimeWarning, match="face embedder 'mean-colour' .* failed: RuntimeError: no model"):
        timeline = _people(media_dir, scripted_frames, lambda t: 200 if t < 0.75 else 0, embedder=_BrokenEmbedder())
    assert [p.id for p in timeline.persons] == ["P1"]


def test_tracks_without_embeddings_stay_persons_of_their_own(fake_components, media_dir, scripted_frames):
    with pytest.warns(RuntimeWarning, match=r"face embedder 'mean-colour' \(plugin fakes\) failed: RuntimeError: no model"):
        timeline = _people(media_dir, scripted_frames, _two_appearances, embedder=_BrokenEmbedder())
    assert [p.id for p in timeline.persons] == ["P1", "P2"]
    assert all(not s.errors for s in timeline.segments)  # the embedder's failure is no segment's


def test_mouth_motion_is_measured_on_each_analysed_frame_with_a_face(fake_components, media_dir, scripted_frames,
                                                                    monkeypatch):
    from emofuse import speaking

    added = []
    monkeypatch.setattr(speaking.SpeakerFinder, "add",
                        lambda self, track, time, motion, span=None: added.append((time, span)))
    _people(media_dir, scripted_frames, lambda t: 200)
    # analysed frames every 0.25 s: motion between each one and the one before (the fake decoder
    # hands out no frames in between)
    assert added == [(t / 4, 0.25) for t in range(1, 8)]


class _TrackingCentre:
    """A detector that can track: detects in the middle, tracks by returning the boxes it is given
    (failing on frames it is told to)."""

    def __init__(self, fail_detect=()):
        self.fail_detect, self.tracked = fail_detect, []

    def detect(self, frame):
        from emofuse import FaceBox

        if int(frame[0, 0, 0]) in self.fail_detect:
            raise RuntimeError("detector fell over")
        return [FaceBox(30, 20, 20, 20)]

    def track(self, frame, boxes):
        self.tracked.append(len(boxes))
        return list(boxes)


def test_the_walk_tracks_faces_between_detections_and_records_detector_failures(fake_components, fake_frames):
    walk = _walk([(0.0, 1.0), (1.0, 2.0)], detect_fps=1.0)
    detector = walk.pipeline.face_detector = _TrackingCentre()
    walk.pipeline._fail_fast.start()
    segments = list(walk.segments())
    # 4 analysed frames a second, a full detection once a second: tracked on the 3 frames after each
    assert detector.tracked == [1] * 6 and [len(s.faces) for s in segments] == [4, 4]
    failing = _walk([(0.0, 1.0)])
    failing.pipeline.face_detector = _TrackingCentre(fail_detect={200})
    failing.pipeline._fail_fast.start()
    with pytest.warns(RuntimeWarning, match="detector fell over"):
        segment, = list(failing.segments())
    assert segment.errors == ["face detector 'center' (plugin fakes) failed: RuntimeError: detector fell over"] * 4


def test_a_face_seen_on_one_analysed_frame_is_nobody(fake_components, media_dir, scripted_frames):
    timeline = _people(media_dir, scripted_frames, lambda t: 200 if t < 0.25 else 0)
    assert timeline.persons == ()
    assert [(s.time, s.person) for s in timeline.sightings] == [(0.0, None)]


def test_a_cut_starts_new_tracks_so_two_people_filmed_in_turn_are_two_persons(fake_components, media_dir,
                                                                              scripted_frames):
    # the same spot, no pause: only the cut from a reddish picture to a bluish one parts them
    timeline = _people(media_dir, scripted_frames, lambda t: (200, 60, 60) if t < 1.0 - 1e-9 else (60, 60, 200))
    assert [p.id for p in timeline.persons] == ["P1", "P2"]
    assert [s.person for s in timeline.sightings] == ["P1"] * 4 + ["P2"] * 4
