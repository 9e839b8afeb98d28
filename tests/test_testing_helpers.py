"""Tests for emofuse.testing: sample media that is what it claims, and contract checks that bite."""
from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from emofuse import testing
from emofuse.audio import is_silent, rms_db
from emofuse.errors import IncompatibleComponentsError
from emofuse.labels import LABELS
from emofuse.testing import (
    EncoderUnavailableError,
    check_audio_classifier,
    check_audio_feature_extractor,
    check_exporter,
    check_face_detector,
    check_fusion_strategy,
    check_visual_classifier,
    expected_face_box,
    make_frame,
    make_speech_like,
    sample_face,
    write_media,
)
from emofuse.types import EmotionScores, FaceBox

HAAR = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def haar_faces(rgb: np.ndarray) -> list[FaceBox]:
    found = HAAR.detectMultiScale(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), scaleFactor=1.1, minNeighbors=5)
    return [FaceBox(int(x), int(y), int(w), int(h)) for x, y, w, h in (found if len(found) else [])]


def iou(a: FaceBox, b: FaceBox) -> float:
    w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    inter = max(0, w) * max(0, h)
    return inter / (a.width * a.height + b.width * b.height - inter)


def decode_audio(path: Path, rate: int = 16000) -> np.ndarray:
    """The soundtrack of `path` as float32 mono at `rate` (empty when there is none)."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a?", "-f", "f32le",
           "-ac", "1", "-ar", str(rate), "-"]
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode and b"does not contain any stream" in done.stderr:
        return np.zeros(0, dtype=np.float32)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return np.frombuffer(done.stdout, dtype=np.float32)


def read_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


# --------------------------------------------------------------------------- face and frames


def test_sample_face_is_a_small_rgb_portrait_returned_as_a_copy():
    face = sample_face()
    assert face.shape == (240, 200, 3) and face.dtype == np.uint8
    assert face.std() > 30  # a photo, not a blank
    face[:] = 0
    assert sample_face().any()
    assert (Path(testing.__file__).parent / "data" / "face.png").stat().st_size < 60_000


@pytest.mark.parametrize("width, height, face_width, offset", [
    (640, 480, 260, (0, 0)),
    (320, 240, 130, (0, 0)),
    (640, 480, 400, (-60, 20)),
    (1280, 720, 260, (200, -30)),
    (320, 240, 1000, (0, 0)),  # too big: shrunk to fit
])
def test_haar_finds_the_face_where_expected(width, height, face_width, offset):
    frame = make_frame(width, height, face_width=face_width, offset=offset)
    assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
    found = haar_faces(frame)
    assert len(found) == 1, found
    assert iou(found[0], expected_face_box(width, height, face_width, offset)) > 0.7


def test_frame_without_face_has_no_face_and_offsets_clip():
    assert haar_faces(make_frame(face=False)) == []
    assert np.ptp(make_frame(face=False).reshape(-1, 3), axis=0).max() < 80  # a plain gradient
    off = make_frame(320, 240, offset=(200, 0))  # mostly pushed out of the frame
    assert off.shape == (240, 320, 3)
    assert not np.array_equal(off, make_frame(320, 240, face=False))


# --------------------------------------------------------------------------- speech-like audio


def test_speech_like_is_voiced_loud_and_deterministic():
    rate = 16000
    x = make_speech_like(6.0, rate, seed=3)
    assert x.dtype == np.float32 and x.shape == (6 * rate,)
    assert np.abs(x).max() <= 1.0
    assert all(not is_silent(x[i:i + rate // 2]) for i in range(0, x.size, rate // 2))
    assert np.array_equal(x, make_speech_like(6.0, rate, seed=3))
    assert not np.array_equal(x, make_speech_like(6.0, rate, seed=4))
    # syllables and pauses: the 10 ms energy envelope swings widely
    energy = np.sqrt((x[: x.size // 160 * 160].reshape(-1, 160) ** 2).mean(axis=1))
    assert (energy < 0.01 * energy.max()).mean() > 0.05
    # voiced: a periodic frame whose pitch lies between 100 and 250 Hz
    loud = int(np.argmax(energy)) * 160
    frame = x[loud:loud + 640].astype(np.float64)
    ac = np.correlate(frame, frame, "full")[frame.size - 1:]
    lag = rate // 260 + int(np.argmax(ac[rate // 260: rate // 90]))
    assert 100 <= rate / lag <= 250
    assert ac[lag] > 0.5 * ac[0]


# --------------------------------------------------------------------------- media files


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".avi", ".webm"])
def test_write_media_containers(tmp_path, suffix):
    try:
        path = write_media(tmp_path / f"clip{suffix}", 2.0, fps=25, size=(320, 240))
    except EncoderUnavailableError as exc:
        pytest.skip(str(exc))
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 50
    assert seconds == pytest.approx(2.0, abs=0.1)
    decoded = read_frames(path)
    assert len(decoded) == 50 and decoded[0].shape == (240, 320, 3)
    assert haar_faces(decoded[10])
    sound = decode_audio(path)
    assert sound.size / 16000 == pytest.approx(2.0, abs=0.1)
    assert not is_silent(sound)


def test_write_media_soundtracks(tmp_path):
    silent = write_media(tmp_path / "silent.mp4", 2.0, size=(160, 120), audio="silence")
    assert decode_audio(silent).size > 16000 and is_silent(decode_audio(silent))
    tone = decode_audio(write_media(tmp_path / "tone.mp4", 2.0, size=(160, 120), audio="tone"))
    spectrum = np.abs(np.fft.rfft(tone[4000:20000]))
    assert np.fft.rfftfreq(16000, 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=3)
    mute = write_media(tmp_path / "mute.mp4", 2.0, size=(160, 120), audio=None)
    assert decode_audio(mute).size == 0
    assert imageio_ffmpeg.count_frames_and_secs(str(mute))[0] == 50


def test_write_media_alternate_face_shows_in_odd_seconds(tmp_path):
    path = write_media(tmp_path / "alt.mp4", 4.0, fps=10, size=(320, 240), face="alternate", audio=None)
    frames = read_frames(path)
    assert len(frames) == 40
    seen = [bool(haar_faces(frames[i])) for i in (5, 15, 25, 35)]
    assert seen == [False, True, False, True]


def test_write_media_face_motion(tmp_path):
    still = read_frames(write_media(tmp_path / "still.mp4", 1.0, size=(320, 240), audio=None, face_motion=False))
    moving = read_frames(write_media(tmp_path / "moving.mp4", 1.0, size=(320, 240), audio=None))

    def change(frames):
        return np.abs(frames[0].astype(int) - frames[12].astype(int)).mean()

    assert change(still) < 1.0 < change(moving)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a"])
def test_write_media_audio_only(tmp_path, suffix):
    path = write_media(tmp_path / f"voice{suffix}", 1.5)
    if suffix in (".wav", ".flac"):
        info = soundfile.info(str(path))
        assert (info.frames, info.samplerate, info.channels) == (24000, 16000, 1)
    sound = decode_audio(path)
    assert sound.size / 16000 == pytest.approx(1.5, abs=0.1)
    assert rms_db(sound) > -25


def test_write_media_audio_only_in_a_video_container(tmp_path):
    path = write_media(tmp_path / "voice.mp4", 1.0, size=None, audio="speech")
    assert not is_silent(decode_audio(path))
    assert read_frames(path) == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(path="x.mp4", size=(321, 240)), "even"),
    (dict(path="x.gif"), "cannot write"),
    (dict(path="x.wav", audio=None), "audio-only"),
    (dict(path="x.mp4", audio="music"), "unknown audio"),
    (dict(path="x.mp4", face="sometimes"), "face must be"),
])
def test_write_media_refuses_bad_requests(tmp_path, kwargs, message):
    kwargs["path"] = tmp_path / kwargs["path"]
    with pytest.raises(ValueError, match=message):
        write_media(duration=0.5, **kwargs)


def test_encode_media_reports_bad_frames_and_ffmpeg_errors(tmp_path):
    mixed = iter([make_frame(320, 240), make_frame(640, 480)])
    with pytest.raises(ValueError, match="after frames of"):
        testing.encode_media(tmp_path / "mixed.mp4", mixed)
    with pytest.raises(RuntimeError, match="invalid preset"):
        testing.encode_media(tmp_path / "bad.mp4", (make_frame(320, 240) for _ in range(5)), preset="bogus")


# --------------------------------------------------------------------------- dummy components


class HaarDetector:
    def detect(self, frame):
        return haar_faces(frame)


class CornerDetector:  # always answers the same box: misses the face, "finds" one on a blank frame
    def detect(self, frame):
        return [FaceBox(0, 0, 50, 50)]


class OverflowDetector(HaarDetector):
    def detect(self, frame):
        return [FaceBox(b.x, b.y, frame.shape[1], b.height) for b in super().detect(frame)]


class ForgetfulDetector(HaarDetector):  # finds faces in its first 3 calls only; new_stream() does not restart it
    def __init__(self):
        self.calls = 0

    def new_stream(self):
        pass

    def detect(self, frame):
        self.calls += 1
        return super().detect(frame) if self.calls <= 3 else []


class TupleDetector(HaarDetector):
    def detect(self, frame):
        return [(b.x, b.y, b.width, b.height) for b in super().detect(frame)]


class ScribblingDetector(HaarDetector):
    def detect(self, frame):
        boxes = super().detect(frame)
        frame[0, 0] = 255 - frame[0, 0]
        return boxes


class ArrayDetector(HaarDetector):
    def detect(self, frame):
        return np.array([[b.x, b.y, b.width, b.height] for b in super().detect(frame)])


def uniform() -> EmotionScores:
    return EmotionScores.from_array([1.0] * len(LABELS), normalize=True)


class UniformClassifier:
    def classify(self, crops):
        return [uniform() for _ in crops]


class OneScoreClassifier:
    def classify(self, crops):
        return [uniform()]


class DictClassifier:
    def classify(self, crops):
        return [uniform().as_dict() for _ in crops]


class NoneOnEmptyClassifier(UniformClassifier):
    def classify(self, crops):
        return super().classify(crops) if len(crops) else None


class BandExtractor:
    """Mono, 8 kHz, 25 ms frames -> log energy in 8 bands: columns do not depend on the input rate."""

    feature_spec = {"kind": "bands", "n_bands": 8}

    def extract(self, samples, sample_rate):
        x = samples.mean(axis=1) if samples.ndim == 2 else samples
        x = x[:: max(1, sample_rate // 8000)]
        frames = x[: x.size // 200 * 200].reshape(-1, 200)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        bands = np.array_split(power, 8, axis=1)
        return np.log(np.stack([b.sum(axis=1) for b in bands], axis=1) + 1e-10)


class RateDependentExtractor(BandExtractor):  # an FFT of 25 ms at the input rate: width follows the rate
    def extract(self, samples, sample_rate):
        x = samples.mean(axis=1) if samples.ndim == 2 else samples
        win = sample_rate // 40
        return np.log(np.abs(np.fft.rfft(x[: x.size // win * win].reshape(-1, win), axis=1)) + 1e-10)


class FlatExtractor(BandExtractor):
    def extract(self, samples, sample_rate):
        return super().extract(samples, sample_rate).ravel()


class NanExtractor(BandExtractor):
    def extract(self, samples, sample_rate):
        out = super().extract(samples, sample_rate)
        out[0, 0] = np.nan
        return out


class IntExtractor(BandExtractor):
    def extract(self, samples, sample_rate):
        return super().extract(samples, sample_rate).astype(np.int64)


class NoSpecExtractor(BandExtractor):
    feature_spec = "bands"


class OtherSpecExtractor(BandExtractor):
    feature_spec = {"kind": "bands", "n_bands": 16}


class BandClassifier:
    min_window = 1.0

    def check_features(self, spec):
        if dict(spec) != BandExtractor.feature_spec:
            raise IncompatibleComponentsError(f"trained on {BandExtractor.feature_spec}, got {dict(spec)}")

    def classify(self, features):
        return uniform() if features.shape[0] >= 20 else None


class PickyClassifier(BandClassifier):
    def check_features(self, spec):
        raise IncompatibleComponentsError("trained on mfcc features")


class DictAudioClassifier(BandClassifier):
    def classify(self, features):
        return uniform().as_dict()


class BadWindowClassifier(BandClassifier):
    min_window = "1 s"


class MeanFusion:
    def fuse(self, face, voice):
        return EmotionScores.mean([s for s in (face, voice) if s is not None])


class GuessingFusion:
    def fuse(self, face, voice):
        return MeanFusion().fuse(face, voice) or uniform()


class NeedsBothFusion:
    def fuse(self, face, voice):
        return None if face is None or voice is None else MeanFusion().fuse(face, voice)


class ArrayFusion:
    def fuse(self, face, voice):
        return None if face is None and voice is None else uniform().array


class TextExporter:
    suffix = ".txt"

    def write(self, timeline, path):
        Path(path).write_text("\n".join(f"{s.start},{s.end},{s.label}" for s in timeline.segments) + "\n")


class LazyExporter(TextExporter):
    def write(self, timeline, path):
        pass


class EmptyExporter(TextExporter):
    def write(self, timeline, path):
        Path(path).touch()


class NoDotExporter(TextExporter):
    suffix = "txt"


# --------------------------------------------------------------------------- contract checks


def test_checkers_accept_correct_components(tmp_path):
    check_face_detector(HaarDetector())
    check_visual_classifier(UniformClassifier())
    check_audio_feature_extractor(BandExtractor())
    check_audio_classifier(BandClassifier(), BandExtractor())
    check_fusion_strategy(MeanFusion())
    written = check_exporter(TextExporter(), tmp_path)
    assert written == tmp_path / "timeline.txt"
    assert written.read_text().count("\n") == len(testing.sample_timeline())


@pytest.mark.parametrize("check, component, message", [
    (check_face_detector, CornerDetector(), "missed the obvious face"),
    (check_face_detector, OverflowDetector(), "outside"),
    (check_face_detector, TupleDetector(), "FaceBox objects"),
    (check_face_detector, ScribblingDetector(), "modified the frame"),
    (check_face_detector, ArrayDetector(), "list of FaceBox"),
    (check_face_detector, ForgetfulDetector(), r"after new_stream\(\) returned \[\], at the start of a stream \[FaceBox"),
    (check_face_detector, UniformClassifier(), "no detect"),
    (check_visual_classifier, OneScoreClassifier(), "1 results for 3 crops"),
    (check_visual_classifier, DictClassifier(), "must return EmotionScores"),
    (check_visual_classifier, NoneOnEmptyClassifier(), r"classify\(\[\]\) must return a list"),
    (check_audio_feature_extractor, RateDependentExtractor(), "feature columns"),
    (check_audio_feature_extractor, FlatExtractor(), "2-D"),
    (check_audio_feature_extractor, NanExtractor(), "NaN"),
    (check_audio_feature_extractor, IntExtractor(), "floats"),
    (check_audio_feature_extractor, NoSpecExtractor(), "mapping"),
    (check_fusion_strategy, GuessingFusion(), r"fuse\(None, None\) must be None"),
    (check_fusion_strategy, NeedsBothFusion(), "face only"),
    (check_fusion_strategy, ArrayFusion(), "must return EmotionScores"),
])
def test_checkers_reject_broken_components(check, component, message):
    with pytest.raises(AssertionError, match=message):
        check(component)


def test_face_detector_check_rejects_faces_on_a_blank_frame():
    class EagerDetector(HaarDetector):
        def detect(self, frame):
            return super().detect(frame) or [FaceBox(10, 10, 40, 40)]

    with pytest.raises(AssertionError, match="plain grey frame"):
        check_face_detector(EagerDetector())


@pytest.mark.parametrize("classifier, extractor, message", [
    (PickyClassifier(), BandExtractor(), "refused BandExtractor's features: trained on mfcc"),
    (BandClassifier(), OtherSpecExtractor(), "n_bands': 16"),
    (DictAudioClassifier(), BandExtractor(), "EmotionScores or None"),
    (BadWindowClassifier(), BandExtractor(), "min_window"),
])
def test_audio_classifier_check_rejects_broken_classifiers(classifier, extractor, message):
    with pytest.raises(AssertionError, match=message):
        check_audio_classifier(classifier, extractor)


@pytest.mark.parametrize("exporter, message", [
    (LazyExporter(), "did not create"),
    (EmptyExporter(), "empty"),
    (NoDotExporter(), "file extension"),
])
def test_exporter_check_rejects_broken_exporters(tmp_path, exporter, message):
    with pytest.raises(AssertionError, match=message):
        check_exporter(exporter, tmp_path)


def test_builtin_components_pass_their_checks(tmp_path):
    from emofuse.plugins.exporters import CsvExporter, JsonExporter, JsonLinesExporter
    from emofuse.plugins.fusion_strategies import MaxConfidenceFusion, ProductFusion, WeightedFusion
    from emofuse.plugins.haar import HaarFaceDetector

    check_face_detector(HaarFaceDetector())
    for strategy in (WeightedFusion(), ProductFusion(), MaxConfidenceFusion()):
        check_fusion_strategy(strategy)
    for exporter in (CsvExporter(), JsonExporter(), JsonLinesExporter()):
        check_exporter(exporter, tmp_path)


def test_mfcc_extractor_passes_its_check():
    pytest.importorskip("librosa")
    from emofuse.plugins.mfcc import MfccExtractor

    check_audio_feature_extractor(MfccExtractor())
