"""The audio-visual fusion benchmark (benchmarks/avbench): maths, scorer, clip builder, recorder."""
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emofuse.labels import LABELS, RAVDESS_LABELS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from avbench import calibration, clips, learned, report, scoring  # noqa: E402
from avbench.record import read_records, record_clips  # noqa: E402


def softmax(z):
    z = np.asarray(z, float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def vec(**nonzero):
    return [nonzero.get(label, 0.0) for label in LABELS]


NAN = [np.nan] * 7

# ------------------------------------------------------------------------------ calibration maths


def test_face_temperature_on_recorded_probabilities_equals_scaling_the_logits():
    z = np.array([2.0, -1.0, 0.5, 3.0, 0.0, -2.0, 1.0])
    for t in (0.5, 1.0, 2.5):
        assert scoring.face_scores_at([softmax(z)], t) == pytest.approx(softmax(z / t))
    z2 = z[::-1]
    both = scoring.face_scores_at([softmax(z), softmax(z2)], 2.0)  # a segment's crops are averaged
    assert both == pytest.approx((softmax(z / 2) + softmax(z2 / 2)) / 2)
    assert scoring.face_scores_at([], 2.0) is None


def test_voice_temperature_undoes_the_model_temperature_then_maps_calm_to_neutral():
    z = np.array([0.3, 1.2, 2.0, -0.5, 0.0, 0.7, -1.0, 0.1])  # RAVDESS order: neutral, calm, happy, ...
    raw = softmax(z / 2.0)  # what a model with a built-in temperature of 2 outputs
    p8 = softmax(z / 1.5)
    expected = {"neutral": p8[0] + p8[1], "happy": p8[2], "sad": p8[3], "angry": p8[4], "fear": p8[5],
                "disgust": p8[6], "surprise": p8[7]}
    got = scoring.voice_scores_at(raw, 1.5, model_temperature=2.0)
    assert got == pytest.approx([expected[label] for label in LABELS])
    assert RAVDESS_LABELS[:2] == ("neutral", "calm")
    seven = softmax(z[:7])
    assert scoring.voice_scores_at(seven, 1.0) == pytest.approx(seven)  # 7 canonical values: no mapping
    assert scoring.voice_scores_at(None, 1.0) is None


def test_nll_and_ece_by_hand():
    p = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert calibration.nll(p, [0, 1]) == pytest.approx(-(math.log(0.5) + math.log(0.75)) / 2)
    q = np.array([[0.9, 0.1], [0.6, 0.4]])  # right at 0.9, wrong at 0.6
    assert calibration.ece(q, [0, 1]) == pytest.approx(0.5 * 0.1 + 0.5 * 0.6)


def test_fitted_temperature_recovers_a_known_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(1500, 7))
    labels = [rng.choice(7, p=softmax(z / 2.0)) for z in logits]  # true temperature 2
    records = [{"split": "fit", "label": LABELS[y], "segments": [{"face_crops": [softmax(z).tolist()], "voice_raw": None}]}
               for z, y in zip(logits, labels)]
    t = calibration.fit_modality_temperature(records, "face", "fit")
    assert t == pytest.approx(2.0, rel=0.15)
    before = calibration.calibration_figures(records, "face", 1.0, "fit")
    after = calibration.calibration_figures(records, "face", t, "fit")
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]
    assert after["segments"] == 1500


# ------------------------------------------------------------------------------ the scorer


def known_table():
    """Three clips; see the expected figures in the tests below (worked out by hand)."""
    rows = [
        # clip, label, face, voice
        ("A", "happy", vec(happy=0.6, neutral=0.4), vec(sad=0.5, happy=0.3, neutral=0.2)),
        ("A", "happy", NAN, vec(happy=0.9, sad=0.1)),
        ("B", "sad", NAN, vec(sad=0.8, neutral=0.2)),
        ("B", "sad", NAN, NAN),  # silence and no face
        ("C", "angry", vec(angry=0.7, neutral=0.3), vec(neutral=0.6, angry=0.4)),
        ("C", "angry", vec(angry=0.45, fear=0.55), NAN),
    ]
    out = []
    for i, (clip, label, face, voice) in enumerate(rows):
        row = {"clip": clip, "split": "test", "label": label, "actor": 1, "start": float(i), "end": i + 1.0}
        row.update({f"face_{l}": v for l, v in zip(LABELS, face)})
        row.update({f"voice_{l}": v for l, v in zip(LABELS, voice)})
        out.append(row)
    return pd.DataFrame(out)


def test_scorer_from_a_known_csv(tmp_path):
    path = tmp_path / "segments.csv"
    known_table().to_csv(path, index=False)
    table = pd.read_csv(path)
    # face: A happy (right), B never had a face (a miss), C mean angry .575 > fear .275 (right)
    assert scoring.clip_accuracy(table, "face") == {"n": 3, "correct": 2, "missing": 1, "accuracy": pytest.approx(2 / 3)}
    # voice: A mean happy .6 > sad .3 (right), B sad (right), C neutral .6 > angry .4 (wrong)
    assert scoring.clip_accuracy(table, "voice") == {"n": 3, "correct": 2, "missing": 0, "accuracy": pytest.approx(2 / 3)}
    assert scoring.clip_predictions(table, "voice") == {"A": "happy", "B": "sad", "C": "neutral"}
    assert scoring.clip_predictions(table, "face")["B"] is None
    # weighted, face 0.2 / voice 0.8: A1 sad .40 > happy .36, A2 happy .9 -> A mean happy .63 (right);
    # B sad (right); C1 neutral .54 angry .46, C2 face only fear .55 -> C mean angry .455 (right)
    fused = scoring.add_fused(table, report.strategy("weighted", face_weight=0.2, voice_weight=0.8))
    assert fused.loc[0, "fused_sad"] == pytest.approx(0.40)
    assert fused.loc[0, "fused_happy"] == pytest.approx(0.36)
    assert fused.loc[3, [f"fused_{l}" for l in LABELS]].isna().all()
    assert scoring.clip_accuracy(fused, "fused")["accuracy"] == pytest.approx(1.0)
    # the per-class table: face recall happy 1, sad 0 (no face), angry 1
    recall = scoring.per_class_recall(fused, ["face", "voice", "fused"])
    assert recall.loc["sad", "face"] == 0 and recall.loc["happy", "face"] == 1 and recall.loc["angry", "voice"] == 0
    assert recall.loc["all", "clips"] == 3 and recall.loc["all", "fused"] == pytest.approx(1.0)
    # segment agreement of the face: A1 right, C1 right, C2 fear (wrong)
    assert scoring.segment_agreement(table, "face") == {"segments": 3, "agree": 2, "agreement": pytest.approx(2 / 3)}


def test_missing_modality_fuses_to_the_present_one():
    table = known_table()
    for name in ("weighted", "product", "max-confidence"):
        fused = scoring.add_fused(table, report.strategy(name))
        assert fused.loc[1, [f"fused_{l}" for l in LABELS]].to_numpy(float) == pytest.approx(vec(happy=0.9, sad=0.1), abs=1e-3)
        assert fused.loc[5, "fused_fear"] == pytest.approx(0.55, abs=1e-3)


def test_weight_search_picks_the_reliable_modality():
    # face right at 0.6 on every clip, voice confidently wrong at 0.9: fusion is right only when w * .6 > (1 - w) * .9
    rows = []
    for i, label in enumerate(LABELS):
        wrong = LABELS[(i + 1) % 7]
        face = {l: (0.6 if l == label else 0.4 / 6) for l in LABELS}
        voice = {l: (0.9 if l == wrong else 0.1 / 6) for l in LABELS}
        rows.append({"clip": f"c{i}", "split": "fit", "label": label, "actor": 1, "start": 0.0, "end": 1.0,
                     **{f"face_{l}": v for l, v in face.items()}, **{f"voice_{l}": v for l, v in voice.items()}})
    tuned = report.tune_weight(pd.DataFrame(rows), "weighted")
    assert tuned["face_weight"] > 0.6 and tuned["voice_weight"] == pytest.approx(1 - tuned["face_weight"])
    by_w = {r["face_weight"]: r["accuracy"] for r in tuned["curve"]}
    assert by_w[0.5] == 0 and by_w[0.65] == 1


def test_paired_sign_test_counts():
    table = scoring.add_fused(known_table(), report.strategy("max-confidence"))
    assert report.paired(table, "fused", "voice") == {"only_fused": 1, "only_voice": 0, "p_value": 1.0}


# ------------------------------------------------------------------------------ learned fusion


def test_learned_fusion_features_and_fit():
    table = known_table()
    x = learned.features(table)
    assert x.shape == (6, 17)
    assert (x[1, :7] == 0).all() and x[1, 14] == 0 and x[1, 15] == 1  # no face in A2: zeros, flag 0
    assert x[0, LABELS.index("happy")] == pytest.approx(math.log(0.6))
    assert x[0, LABELS.index("angry")] == pytest.approx(math.log(learned.LOG_FLOOR))
    # a separable problem: the label is the face's argmax
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 300)
    face = softmax(rng.normal(0, 1, (300, 7)) + 3 * np.eye(7)[y])
    voice = softmax(rng.normal(0, 1, (300, 7)))
    t = pd.DataFrame({"clip": [f"c{i}" for i in range(300)], "label": [LABELS[k] for k in y],
                      **{f"face_{l}": face[:, i] for i, l in enumerate(LABELS)},
                      **{f"voice_{l}": voice[:, i] for i, l in enumerate(LABELS)}})
    W = learned.fit(learned.features(t), y, learned.segment_weights(t), l2=1e-3, steps=800)
    assert (learned.predict(W, learned.features(t)).argmax(axis=1) == y).mean() > 0.9
    assert np.trace(W[:7]) > 3 * abs(np.trace(W[7:14]))  # it leans on the face's log-probabilities, not the noise


# ------------------------------------------------------------------------------ clip builder and recorder


def fake_ravdess(root: Path, actors, emotions=("01", "02", "03"), seconds=1.0):
    import soundfile

    from emofuse.testing import make_speech_like

    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for k, code in enumerate(emotions):
            name = f"03-01-{code}-01-01-01-{actor:02d}.flac"
            soundfile.write(folder / name, make_speech_like(seconds, 16000, seed=actor * 10 + k), 16000)


def test_plan_splits_by_actor_and_by_face_and_pairs_the_same_emotion(tmp_path):
    from emofuse.plugins.ravdess_cnn.data import find_ravdess

    fake_ravdess(tmp_path, [1, 2, 3, 4, 5, 6], seconds=0.3)
    labels = np.repeat(np.arange(7), 10)  # 10 faces per class
    specs = clips.plan_clips(find_ravdess(tmp_path).files, labels, held_out_actors=[3, 4, 5, 6], seed=3)
    assert len(specs) == 4 * 3 and {s.actor for s in specs} == {3, 4, 5, 6}
    halves = {split: [s for s in specs if s.split == split] for split in clips.SPLITS}
    fit_actors, test_actors = {s.actor for s in halves["fit"]}, {s.actor for s in halves["test"]}
    assert len(fit_actors) == len(test_actors) == 2 and not fit_actors & test_actors
    assert {a % 2 for a in fit_actors} == {0, 1}  # one male, one female actor in each half
    assert not {s.face_index for s in halves["fit"]} & {s.face_index for s in halves["test"]}
    assert len({s.face_index for s in specs}) == len(specs)  # a face is used once
    for s in specs:
        assert LABELS[labels[s.face_index]] == s.label
        code = Path(s.audio).name.split("-")[2]
        assert s.label == {"01": "neutral", "02": "neutral", "03": "happy"}[code]  # calm counts as neutral
    assert specs == clips.plan_clips(find_ravdess(tmp_path).files, labels, [3, 4, 5, 6], seed=3)  # deterministic


def test_build_and_record_a_tiny_set(tmp_path, fake_components):
    from emofuse.media import probe
    from emofuse.plugins.ravdess_cnn.data import find_ravdess
    from emofuse.runner import AnalysisOptions

    fake_ravdess(tmp_path / "ravdess", [1, 2], emotions=("03",), seconds=2.2)
    rng = np.random.default_rng(0)
    faces = rng.integers(90, 250, size=(14, 48, 48), dtype=np.uint8)  # bright: the fake classifier says happy
    labels = np.repeat(np.arange(7), 2)
    specs = clips.plan_clips(find_ravdess(tmp_path / "ravdess").files, labels, [1, 2], seed=0)
    manifest = clips.build_clips(specs, faces, tmp_path / "bench", log=None)
    table = pd.read_csv(manifest)
    assert len(table) == 2 and set(table["split"]) == {"fit", "test"}
    info = probe(table["path"][0])
    assert info.has_video and info.has_audio and abs(info.duration - 2.2) < 0.15
    frames = list(clips.render_frames(np.full((48, 48), 7, np.uint8), 1.0, scale=5.0, fps=10))
    assert len(frames) == 10 and frames[0].shape == (480, 640, 3)
    for f in frames:  # a 240x240 grey face, near the centre, inside the frame
        ys, xs = np.nonzero((f == 7).all(axis=2))
        assert len(ys) == 240 * 240 and abs(xs.mean() - 320) < 25 and abs(ys.mean() - 240) < 15

    options = AnalysisOptions(face_detector="center", visual_classifier="brightness", audio_features="energy",
                              audio_classifier="loud-angry", fusion="weighted")
    out = record_clips(table, tmp_path / "records.jsonl", log=None, options=options, components=fake_components)
    header, records = read_records(out)
    assert header["voice_temperature"] == 1.0 and header["face_temperature_shipped"] == 1.0
    assert [r["clip"] for r in records] == list(table["clip"])
    segments = records[0]["segments"]
    assert segments[0]["start"] == 0 and segments[-1]["end"] == pytest.approx(2.2, abs=0.05)
    assert all(a["end"] == b["start"] for a, b in zip(segments, segments[1:]))
    assert len(segments[0]["face_crops"]) == 4  # 4 sampled frames in the first second, one face each
    assert sum(len(s["face_crops"]) for s in segments) == 9  # frames at 0, .25, ..., 2.0 s
    assert all(np.argmax(c) == LABELS.index("happy") for s in segments for c in s["face_crops"])
    assert all(len(s["voice_raw"]) == 7 for s in segments if s["voice_raw"] is not None)
    seg_table = scoring.segment_table(records)
    assert scoring.clip_accuracy(seg_table, "face") == {"n": 2, "correct": 2, "missing": 0, "accuracy": 1.0}
