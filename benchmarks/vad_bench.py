"""Voice-activity detectors on speech, speech in noise and sounds without speech; printed, never asserted.

    python benchmarks/vad_bench.py [--files 100] [--seconds 30] [--threshold 0.2]

Works like the runner: 1 s segments at 16 kHz, each detector called segment after segment with
`start=` (so streaming detectors keep their state), a segment's speech fraction = the share of its
hops with probability >= 0.5 (`emofuse.voice_side.speech_fraction`). Conditions:

* RAVDESS speech (`--files` files spread over the 20 actors of ../shared/data/ravdess), clean,
  in pink noise at SNR 10 and 0 dB, over music at SNR 10 dB; espeak-ng speech when installed;
  the synthetic speech-like signal of `emofuse.testing.make_speech_like` (tests and demos use it).
  Only segments that are speech count (>= 30 % of their 25 ms frames within 35 dB of the file's
  loudest frame, on the clean file); the segments with no speech at all of the noisy files form
  the "noise only" condition.
* Sounds without speech (benchmarks/vad_sounds.py): three kinds of music, white/pink/brown
  noise, door slams and knocks, laughter-like bursts; `--seconds` of each.

Prints, per detector and condition, the mean speech fraction and the share of segments that
"have speech" (fraction >= `--threshold`); then, per detector, recall on speech and false alarms
on non-speech for a range of thresholds; then the cost in ms per second of audio.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vad_sounds  # noqa: E402

from emofuse.audio import resample  # noqa: E402
from emofuse.testing import make_speech_like  # noqa: E402
from emofuse.plugins.vad import SPEECH_THRESHOLD, EnergyVad, SileroVad, WebRtcVad  # noqa: E402
from emofuse.voice_side import speech_fraction  # noqa: E402

RATE = 16000
SEGMENT = 1.0
RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess"
ESPEAK_LINES = (
    ("en", "The meeting was moved to Thursday afternoon, so please bring the reports."),
    ("en-us", "I can't believe you did that again, after everything we talked about."),
    ("en+f3", "Would you like some more tea before we head out to the station?"),
    ("en+m3", "Kids are talking by the door, and the dogs are sitting by the door."),
    ("de", "Morgen fahren wir mit dem Zug nach Berlin und besuchen meine Schwester."),
    ("fr", "Nous avons attendu le bus pendant une heure sous la pluie."),
    ("es", "El perro de mi vecino ladra toda la noche y no puedo dormir."),
    ("en+f4", "That is the best news I have heard all year, thank you so much!"),
)
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def detectors() -> dict[str, object]:
    return {"silero": SileroVad(), "webrtc (3)": WebRtcVad(3), "webrtc (1)": WebRtcVad(1), "energy": EnergyVad()}


def active_frames(x: np.ndarray, frame: int = 400, below_peak_db: float = 35.0, floor_db: float = -50.0) -> np.ndarray:
    """Per-sample truth for a clean recording: inside a 25 ms frame within 35 dB of the loudest."""
    n = max(1, x.size // frame)
    db = 20 * np.log10(np.sqrt(np.mean(x[: n * frame].astype(np.float64).reshape(n, -1) ** 2, axis=1)) + 1e-12)
    on = db >= max(floor_db, db.max() - below_peak_db)
    return np.pad(np.repeat(on, frame), (0, x.size - n * frame), mode="edge")


def segments(x: np.ndarray) -> list[tuple[int, int]]:
    step = int(SEGMENT * RATE)
    return [(a, min(x.size, a + step)) for a in range(0, x.size, step) if min(x.size, a + step) - a >= step // 2]


def truths(x: np.ndarray) -> tuple[list, list]:
    """Per segment of a clean recording: (True where speech else None, False where none else None)."""
    active = active_frames(x)
    cover = [active[a:b].mean() for a, b in segments(x)]
    return [True if c >= 0.3 else None for c in cover], [False if c <= 0.02 else None for c in cover]


def ravdess_files(count: int) -> list[Path]:
    files = sorted(RAVDESS.glob("Actor_*/*.flac"))
    if not files:
        return []
    return files[:: max(1, len(files) // count)][:count]


def espeak_clips() -> list[np.ndarray]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return []
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (voice, text) in enumerate(ESPEAK_LINES):
            path = Path(tmp) / f"{i}.wav"
            subprocess.run([exe, "-v", voice, "-s", str(150 + 10 * (i % 3)), "-w", str(path), text], check=True)
            y, rate = sf.read(path, dtype="float32")
            y = resample(y, rate, RATE)
            clips.append(np.pad(y, (RATE // 2, RATE // 2)) * 0.7)  # half a second of room either side
    return clips


def build_conditions(files: int, seconds: float) -> dict[str, list[tuple[np.ndarray, np.ndarray | None]]]:
    """Condition -> clips as (samples, per-segment truth: True speech, False none, None skip)."""
    speech = [sf.read(f, dtype="float32")[0] for f in ravdess_files(files)]
    conditions: dict[str, list] = {"clean speech (RAVDESS)": [], "speech, pink noise 10 dB": [],
                                   "speech, pink noise 0 dB": [], "speech over music 10 dB": [], "noise only": []}
    for i, x in enumerate(speech):
        is_speech, is_none = truths(x)
        pink = vad_sounds.coloured_noise(x.size / RATE + 0.1, RATE, seed=i, colour="pink")
        music = vad_sounds.music_chords(x.size / RATE + 0.1, RATE, seed=i)
        active = active_frames(x)
        conditions["clean speech (RAVDESS)"].append((x, is_speech))
        for snr in (10, 0):
            noisy = vad_sounds.mix_at_snr(x, pink, snr, active)
            conditions[f"speech, pink noise {snr} dB"].append((noisy, is_speech))
            conditions["noise only"].append((noisy, is_none))
        conditions["speech over music 10 dB"].append((vad_sounds.mix_at_snr(x, music, 10, active), is_speech))
    conditions["espeak-ng speech"] = [(y, truths(y)[0]) for y in espeak_clips()]
    conditions["speech-like synthetic (emofuse.testing)"] = [
        (y, truths(y)[0]) for y in (make_speech_like(seconds / 3, RATE, seed) for seed in range(3))]
    for name, make in vad_sounds.NON_SPEECH.items():
        clip = make(seconds, RATE, 7)
        conditions[name] = [(clip, [False] * len(segments(clip)))]
    return {k: v for k, v in conditions.items() if v}


def run(detector, clips) -> tuple[list[float], list[bool], float, float, float]:
    """Speech fractions of the scored segments, their truth, seconds of audio, wall and CPU seconds spent."""
    fractions, labels, audio, spent, cpu = [], [], 0.0, 0.0, 0.0
    for x, truth in clips:
        detector.reset()
        for (a, b), t in zip(segments(x), truth):
            began, began_cpu = time.perf_counter(), time.process_time()
            p = detector.speech(x[a:b], RATE, start=a / RATE)
            spent += time.perf_counter() - began
            cpu += time.process_time() - began_cpu
            audio += (b - a) / RATE
            if t is not None:
                fractions.append(speech_fraction(p))
                labels.append(bool(t))
    return fractions, labels, audio, spent, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="RAVDESS files (spread over the actors)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of each non-speech sound")
    parser.add_argument("--threshold", type=float, default=SPEECH_THRESHOLD, help="speech fraction that counts")
    args = parser.parse_args()
    conditions = build_conditions(args.files, args.seconds)
    if "clean speech (RAVDESS)" not in conditions:
        print(f"note: no RAVDESS files at {RAVDESS}; speech rows are espeak-ng only")
    dets = detectors()
    results = {name: {cond: run(det, clips) for cond, clips in conditions.items()} for name, det in dets.items()}

    print(f"\nShare of 1 s segments with speech fraction >= {args.threshold:g} (mean fraction in brackets);"
          " speech rows: higher is better, others: lower is better")
    print(f"| condition | segments | {' | '.join(dets)} |")
    print(f"|---|---:|{'---:|' * len(dets)}")
    for cond in conditions:
        cells = []
        for name in dets:
            f = np.array(results[name][cond][0])
            cells.append(f"{100 * (f >= args.threshold).mean():.0f} % ({f.mean():.2f})" if f.size else "-")
        n = len(results[next(iter(dets))][cond][0])
        print(f"| {cond} | {n} | {' | '.join(cells)} |")

    print("\nThreshold sweep: recall on speech segments (all speech conditions) / false alarms on the rest")
    print(f"| detector | {' | '.join(f'T={t:g}' for t in THRESHOLDS)} |")
    print(f"|---|{'---|' * len(THRESHOLDS)}")
    for name in dets:
        f = np.concatenate([results[name][c][0] for c in conditions])
        y = np.concatenate([results[name][c][1] for c in conditions]).astype(bool)
        # false alarms: the mean over non-speech conditions, each weighted equally
        negatives = [np.array(results[name][c][0])[~np.array(results[name][c][1], bool)]
                     for c in conditions if not all(results[name][c][1])]
        cells = []
        for t in THRESHOLDS:
            recall = (f[y] >= t).mean()
            false_alarm = np.mean([(g >= t).mean() for g in negatives if g.size])
            cells.append(f"{100 * recall:.0f} / {100 * false_alarm:.0f}")
        print(f"| {name} | {' | '.join(cells)} |")

    print("\nCost (this machine, streaming 1 s segments): ms per s of audio")
    print("| detector | wall | CPU (all threads) |")
    print("|---|---:|---:|")
    for name in dets:
        audio, spent, cpu = (sum(r[i] for r in results[name].values()) for i in (2, 3, 4))
        print(f"| {name} | {1000 * spent / audio:.2f} | {1000 * cpu / audio:.2f} |")

    speech_conditions = [c for c in conditions if "speech" in c and "only" not in c]
    silero = SileroVad()
    print("\nSilero, each segment on its own (no start=) vs streaming: mean speech fraction on speech segments")
    for cond in speech_conditions:
        alone = []
        for x, truth in conditions[cond]:
            alone += [speech_fraction(silero.speech(x[a:b], RATE)) for (a, b), t in zip(segments(x), truth) if t]
        print(f"  {cond}: alone {np.mean(alone):.3f}, streaming "
              f"{np.mean(np.array(results['silero'][cond][0])[np.array(results['silero'][cond][1], bool)]):.3f}")


if __name__ == "__main__":
    main()
