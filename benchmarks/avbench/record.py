"""Run the real emofuse pipeline on every clip and record what each modality said, per segment.

The pipeline runs with its default components (haar, fer-cnn, mfcc, ravdess-cnn) and default
segmenting (1 s segments, faces sampled 4 times a second). Two things are recorded so that any
temperature and any fusion strategy can be applied afterwards, exactly, without re-running:

- face: the probabilities of every face crop of the segment at temperature 1 (the face
  classifier runs with ``temperature=1``); the segment's face scores at temperature T are the
  mean over crops of ``softmax(log p / T)``, which is exactly what the pipeline computes with
  the classifier's temperature set to T;
- voice: the voice classifier's 8 raw RAVDESS probabilities, and the temperature built into
  the model (``voice_temperature`` in the record header), so ``log p * T_model`` are its logits
  up to a constant.

Records are JSON lines: a header line ``{"header": {...}}`` then one line per clip.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


class _RecordingVisualClassifier:
    """Wraps the real visual classifier; keeps the probabilities of the crops of each call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.pending: list[list[float]] = []

    def classify(self, crops):
        result = self.inner.classify(crops)
        self.pending.extend([list(s.values) for s in result])
        return result

    def take(self) -> list[list[float]]:
        out, self.pending = self.pending, []
        return out


def voice_model_temperature(classifier) -> float:
    """The temperature the voice model divides its logits by (1.0 when it has none built in)."""
    model = getattr(classifier, "_model", None)
    try:
        layer = model.get_layer("temperature")
        return float(1.0 / float(np.asarray(layer.scale)))
    except Exception:  # noqa: BLE001 - no such layer: the classifier's own temperature, if any, is not applied
        return 1.0


def make_pipeline(face_model: str | None = None, voice_model: str | None = None, options=None, components=None):
    """The default pipeline, face classifier at temperature 1, optional model overrides.

    `options` (an AnalysisOptions) and `components` replace the defaults (tests use fakes).
    """
    from emofuse.runner import AnalysisOptions, Pipeline

    if options is None:
        visual = {"temperature": 1.0}
        if face_model:
            visual["model"] = str(face_model)
        component_options = {"visual_classifier": visual}
        if voice_model:
            component_options["audio_classifier"] = {"model": str(voice_model)}
        options = AnalysisOptions(component_options=component_options)
    pipeline = Pipeline(options, components)
    recorder = _RecordingVisualClassifier(pipeline.visual_classifier)
    pipeline.__dict__["visual_classifier"] = recorder  # the runner reads the cached attribute
    return pipeline, recorder


def record_clips(manifest, out_path: Path, face_model: str | None = None, voice_model: str | None = None,
                 log=print, options=None, components=None) -> Path:
    """Analyse every clip of `manifest` (a DataFrame) and write the records to `out_path`."""
    from emofuse.labels import RAVDESS_LABELS

    pipeline, recorder = make_pipeline(face_model, voice_model, options, components)
    voice_clf = pipeline.audio_classifier
    face_clf = recorder.inner
    header = {
        "face_model": str(getattr(face_clf, "model_path", face_model)),
        "face_temperature_shipped": _face_meta_temperature(face_clf),
        "voice_model": str(getattr(voice_clf, "model_path", voice_model)),
        "voice_temperature": voice_model_temperature(voice_clf),
        "components": pipeline.describe(),
        "segment": pipeline.options.segment,
        "fps": pipeline.options.fps,
    }
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    t0 = time.time()
    with tmp.open("w") as out:
        out.write(json.dumps({"header": header}) + "\n")
        for i, row in enumerate(manifest.itertuples(index=False)):
            segments = []

            def on_segment(result, total, segments=segments):
                crops = recorder.take()
                voice_raw = None  # the 8 RAVDESS probabilities, or the 7 canonical ones from another classifier
                if result.voice is not None:
                    raw = result.voice.raw
                    voice_raw = ([float(raw[k]) for k in RAVDESS_LABELS] if raw is not None and set(raw) == set(RAVDESS_LABELS)
                                 else list(result.voice.values))
                segments.append({"start": result.start, "end": result.end, "faces": result.faces,
                                 "face_crops": crops, "voice_raw": voice_raw,
                                 "errors": list(result.errors)})

            recorder.take()
            timeline = pipeline.analyze(row.path, on_segment=on_segment)
            out.write(json.dumps({"clip": row.clip, "split": row.split, "label": row.label, "actor": int(row.actor),
                                  "face_index": int(row.face_index), "duration": timeline.duration,
                                  "segments": segments}) + "\n")
            if log and (i + 1) % 20 == 0:
                log(f"  {i + 1}/{len(manifest)} clips analysed ({time.time() - t0:.0f} s)")
    tmp.replace(out_path)
    return out_path


def _face_meta_temperature(face_clf) -> float:
    """The temperature stored beside the face model (what `emofuse analyze` applies), 1.0 without one."""
    from emofuse.plugins.fer_cnn.artifacts import read_metadata

    path = getattr(face_clf, "model_path", None)
    return float(read_metadata(path).get("temperature", 1.0)) if path else 1.0


def read_records(path: Path) -> tuple[dict, list[dict]]:
    lines = Path(path).read_text().splitlines()
    header = json.loads(lines[0])["header"]
    return header, [json.loads(line) for line in lines[1:] if line.strip()]
