"""The fusion-conditions benchmark (benchmarks/fusionbench): renderings, the evidence cache, scoring, fitting."""
import sys
from pathlib import Path

import numpy as np
import pytest

from emofuse.labels import LABELS
from emofuse.types import EmotionScores, FaceEvidence, VoiceEvidence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from fusionbench import faces, fit, record, table, voices  # noqa: E402
from fusionbench.conditions import CONDITIONS, styles  # noqa: E402

RATE = voices.RATE


def speech_like(seconds=2.0, seed=0):
    from emofuse.testing import make_speech_like

    return np.asarray(make_speech_like(seconds, RATE, seed=seed), dtype=np.float64)


# ---------------------------------------------------------------------------------- renderings


@pytest.mark.parametrize("snr", [10.0, 0.0])
def test_noise_is_added_at_the_requested_snr_against_the_active_level(snr):
    x = speech_like()
    noisy = voices.add_noise(x, snr, np.random.default_rng(1))
    noise = noisy - x
    measured = 20 * np.log10(voices.active_rms(x) / np.sqrt(np.mean(noise ** 2)))
    assert measured == pytest.approx(snr, abs=0.01)


def test_telephone_is_8_khz_and_band_limited():
    x = voices.pink_noise(RATE * 2, np.random.default_rng(0)) * 0.1
    out, rate = voices.render_voice("telephone", x, RATE, np.random.default_rng(0))
    assert rate == 8000 and len(out) == len(x) // 2
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    f = np.fft.rfftfreq(len(out), 1 / rate)
    in_band = spectrum[(f > 500) & (f < 3000)].mean()
    assert spectrum[f < 150].mean() < 0.05 * in_band and spectrum[f > 3800].mean() < 0.05 * in_band


def test_reverb_keeps_length_and_peak_and_smears_in_time():
    x = np.zeros(RATE)
    x[1000] = 0.5  # a click
    out, rate = voices.render_voice("reverb", x, RATE, np.random.default_rng(3))
    assert rate == RATE and len(out) == len(x)
    assert np.max(np.abs(out)) == pytest.approx(0.5, rel=1e-3)
    assert np.sum(out[1000 + int(0.05 * RATE):] ** 2) > 0.01 * np.sum(out ** 2)  # energy well after the click


def test_music_is_as_long_and_as_loud_as_the_utterance():
    x = speech_like(1.5)
    out, rate = voices.render_voice("music", x, RATE, np.random.default_rng(0))
    assert rate == RATE and len(out) == len(x) and np.isfinite(out).all()
    assert voices.active_rms(out) == pytest.approx(voices.active_rms(x), rel=0.05)


def test_unknown_styles_are_errors():
    with pytest.raises(ValueError, match="voice style"):
        voices.render_voice("underwater", speech_like(0.5), RATE, np.random.default_rng(0))
    with pytest.raises(ValueError, match="face style"):
        list(faces.face_frames("huge", np.zeros((48, 48), np.uint8), 0.5, 4, np.random.default_rng(0)))


@pytest.mark.parametrize("style, low, high", [("sharp", 150, 300), ("small", 60, 80)])
def test_camera_faces_have_their_size_and_one_frame_per_tick(style, low, high):
    face = np.full((48, 48), 250, np.uint8)  # a bright square stands out of the grey background
    frames = list(faces.face_frames(style, face, 1.0, 4, np.random.default_rng(7)))
    assert len(frames) == 4 and all(f.shape == (480, 640, 3) and f.dtype == np.uint8 for f in frames)
    bright = (frames[0].mean(axis=2) > 215)
    width = np.ptp(np.nonzero(bright.any(axis=0))[0]) + 1
    assert low - 4 <= width <= high + 4


def test_every_condition_uses_known_styles():
    face_styles, voice_styles = styles(CONDITIONS)
    assert set(face_styles) <= set(faces.FACE_STYLES) and set(voice_styles) <= set(voices.VOICE_STYLES)
    assert len({c.name for c in CONDITIONS}) == len(CONDITIONS)


# ------------------------------------------------------------------------- cache and scoring


def one_hot(label, p=0.7):
    rest = (1 - p) / 6
    return EmotionScores.from_array([p if x == label else rest for x in LABELS])


def fake_recording(rows_per_clip, modality):
    """to_arrays input: per clip, per segment a dict as `record.analyse` returns."""
    out = []
    for rows in rows_per_clip:
        segs = []
        for i, label in enumerate(rows):
            ev = None
            if label and modality == "face":
                ev = FaceEvidence(one_hot(label), frames=3, sampled=4, size=100.0, agreement=1.0)
            elif label:
                ev = VoiceEvidence(one_hot(label), speech=0.8, level_db=-20.0, window=2.0, sample_rate=16000)
            segs.append({"start": float(i), "end": i + 1.0, "face": ev if modality == "face" else None,
                         "voice": ev if modality == "voice" else None, "voice_speech": 0.8 if ev else 0.0,
                         "errors": []})
        out.append(segs)
    return out


class Spec:
    def __init__(self, clip, split, label, actor):
        self.clip, self.split, self.label, self.actor = clip, split, label, actor


def save_side(path, specs, rows, modality):
    arrays = record.to_arrays([s.clip for s in specs], fake_recording(rows, modality), modality)
    arrays.update(split=np.array([s.split for s in specs]), label=np.array([s.label for s in specs]),
                  actor=np.array([s.actor for s in specs]), clips=np.array([s.clip for s in specs]))
    return record.save(path, arrays, {"tag": "t"})


def test_join_scores_and_strategies_on_a_tiny_cache(tmp_path):
    specs = [Spec("a", "fit", "happy", 1), Spec("b", "test", "sad", 2), Spec("c", "test", "angry", 2)]
    # clip a: face happy twice; voice sad once (3 segments: the voice has one more than the face)
    # clip b: face happy, voice sad twice; clip c: no face at all, no voice
    f = save_side(tmp_path / "f.npz", specs, [["happy", "happy"], ["happy", None], [None]], "face")
    v = save_side(tmp_path / "v.npz", specs, [[None, "sad", "sad"], ["sad", "sad"], [None]], "voice")
    t = table.join("x", f, v)
    assert len(t) == 6 and list(t.row_clip) == [0, 0, 0, 1, 1, 2]
    assert np.isnan(t.face["scores"][2]).all() and not np.isnan(t.voice["scores"][2]).any()
    assert t.face["coverage"][0] == pytest.approx(0.75)
    assert list(table.clip_correct(t, t.face["scores"])) == [True, False, False]  # c: no verdict is wrong
    assert list(table.clip_correct(t, t.voice["scores"])) == [False, True, False]
    assert table.accuracy(t, t.face["scores"]) == pytest.approx(1 / 3)
    face, voice = t.evidence(1)
    assert face.label == "happy" and face.coverage == 0.75 and voice.label == "sad" and voice.sample_rate == 16000
    half = t.half("test")
    assert list(half.clips) == ["b", "c"] and list(half.row_clip) == [0, 0, 1]
    from emofuse.plugins.fusion_strategies import EvidenceFusion

    strategy = EvidenceFusion()
    assert np.allclose(table.run_strategy(t, strategy), strategy.fuse_many(t.face, t.voice), equal_nan=True)


# ---------------------------------------------------------------------------------- recording a candidate


def test_models_tag_follows_the_options_and_the_content_of_the_files_they_name(tmp_path):
    """`--set audio-classifier.model=M`: evidence of the shipped model, of M and of M retrained
    in place must never be taken for one another."""
    model = tmp_path / "m.keras"
    model.write_bytes(b"weights one")
    export = tmp_path / "m.tflite"
    export.write_bytes(b"export one")
    options = {"audio_classifier": {"model": str(model)}}
    shipped, candidate = record.models_tag(), record.models_tag(options)
    assert record.models_tag({}) == shipped and candidate != shipped
    assert record.models_tag({"audio_classifier": {"model": str(model)}}) == candidate  # stable
    model.write_bytes(b"weights two")
    retrained = record.models_tag(options)
    assert retrained != candidate
    export.write_bytes(b"export two")  # the runtime loads the export: it counts too
    exported = record.models_tag(options)
    assert exported != retrained
    (tmp_path / "m.json").write_text('{"temperature": 0.9}')  # and the metadata (temperature, features)
    assert record.models_tag(options) != exported
    assert record.models_tag({"fusion": {"face_weight": 0.7}}) != record.models_tag({"fusion": {"face_weight": 0.6}})


def test_recorder_records_with_its_component_options(tmp_path):
    options = {"fusion": {"face_weight": 0.7}}
    recorder = record.Recorder([], np.zeros((0, 48, 48)), tmp_path, component_options=options)
    assert recorder.tag == record.models_tag(options)
    pipeline = recorder.pipeline
    assert pipeline.options.component_options == options and pipeline.options.persons is False
    assert record.Recorder([], np.zeros((0, 48, 48)), tmp_path).pipeline.options.component_options == {}


def test_a_candidates_evidence_and_report_go_beside_the_shipped_models_never_over_them(tmp_path, monkeypatch):
    import fusion_conditions
    from fusionbench import report

    options = {"fusion": {"face_weight": 0.7}}
    shipped = record.Recorder([], np.zeros((0, 48, 48)), tmp_path)
    candidate = record.Recorder([], np.zeros((0, 48, 48)), tmp_path, component_options=options)
    assert shipped.results == tmp_path
    assert candidate.results == tmp_path / "candidates" / record.models_tag(options)
    media, written = [], []
    monkeypatch.setattr(record, "render_face_media", lambda specs, faces, style, folder, log: media.append(folder) or [])
    monkeypatch.setattr(record, "recording_pipeline", lambda analysis: analysis)
    monkeypatch.setattr(record, "record_style",
                        lambda pipeline, specs, paths, modality, out, tag, log: written.append((out, tag)))
    assert shipped.evidence("face", "sharp") == tmp_path / "evidence" / "face-sharp.npz"
    assert candidate.evidence("face", "sharp") == candidate.results / "evidence" / "face-sharp.npz"
    assert written == [(tmp_path / "evidence" / "face-sharp.npz", shipped.tag),
                       (candidate.results / "evidence" / "face-sharp.npz", candidate.tag)]
    assert media == [tmp_path / "media" / "face-sharp"] * 2  # the rendered clips are shared

    reported = []
    monkeypatch.setattr(report, "run_report", lambda folder, log: reported.append(folder) or {})
    fusion_conditions.main(["report", "--cache", str(tmp_path), "--set", "fusion.face_weight=0.7"])
    fusion_conditions.main(["report", "--cache", str(tmp_path)])
    plan = tmp_path / "seed5-clips160"
    assert reported == [plan / "candidates" / record.models_tag(options), plan]


def test_fusion_conditions_refuses_a_missing_candidate_model_before_any_work(tmp_path, capsys):
    import fusion_conditions

    missing = tmp_path / "nope.keras"
    with pytest.raises(SystemExit) as excinfo:
        fusion_conditions.main(["record", "--cache", str(tmp_path / "c"),
                                "--set", f"audio-classifier.model={missing}"])
    assert excinfo.value.code == 2
    assert f"--set audio-classifier.model={missing}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    with pytest.raises(SystemExit):
        fusion_conditions.main(["record", "--cache", str(tmp_path / "c"), "--set", "nonsense"])
    assert "--set expects KIND.OPTION=VALUE" in capsys.readouterr().err


def test_temperature_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    n = 4000
    logits = rng.normal(0, 2.0, size=(n, 7))
    true_p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(7, p=p) for p in true_p])
    over = np.exp(logits * 2.0)  # a model twice too sure: the right temperature is 2
    over /= over.sum(axis=1, keepdims=True)
    t = table.Table("t", np.arange(n).astype(str), y, np.array(["fit"] * n), np.arange(n),
                    {"scores": over}, {"scores": np.full((n, 7), np.nan)})
    assert fit.fit_temperature([t], "face") == pytest.approx(2.0, rel=0.1)


def test_keep_rows_thins_segments_and_drops_clips_left_empty():
    n = 5
    t = table.Table("t", np.array(["a", "b", "c"]), np.array([3, 4, 0]), np.array(["fit", "test", "test"]),
                    np.array([0, 0, 1, 1, 2]), {"scores": np.eye(7)[[3, 4, 4, 4, 0]].astype(float)},
                    {"scores": np.full((n, 7), np.nan)}, np.array([0, 1, 0, 1, 0]))
    kept = t.keep_rows(np.array([False, True, True, True, False]))
    assert list(kept.clips) == ["a", "b"] and list(kept.row_clip) == [0, 1, 1] and list(kept.row_segment) == [1, 0, 1]
    assert list(table.clip_correct(kept, kept.face["scores"])) == [False, True]  # a: only its "sad" segment is left


def test_face_in_clips_verdict_is_the_mean_of_the_segments_with_a_face():
    from fusionbench.crops import clip_verdicts

    nan = np.full(len(LABELS), np.nan)
    happy, sad = one_hot("happy", 0.6).array, one_hot("sad", 0.9).array
    clips = np.array(["a", "a", "a", "b", "c"])
    # clip a: happy 0.6 twice beats sad 0.9 once on the mean (a vote of the strongest would say sad)
    scores = np.stack([happy, happy, sad, nan, sad])
    got = clip_verdicts(clips, scores, ["c", "a", "b", "d"])
    assert got.tolist() == [LABELS.index("sad"), LABELS.index("happy"), -1, -1]


def test_face_in_clips_comparison_splits_losses_into_detection_and_framing():
    from fusionbench.crops import compare

    truth = np.array([0, 1, 2, 3, 4, 5])
    crop = np.array([0, 1, 2, 3, 0, 0])  # right on the first four crops
    in_clip = np.array([0, -1, 5, 3, -1, 5])  # clip 1 not found, clip 2 reframed wrong, clip 5 right only here
    r = compare(truth, crop, in_clip)
    assert (r["clips"], r["found"]) == (6, 4)
    assert r["crop_accuracy"] == pytest.approx(4 / 6) and r["clip_accuracy"] == pytest.approx(3 / 6)
    assert r["crop_accuracy_found"] == pytest.approx(3 / 4) and r["clip_accuracy_found"] == pytest.approx(3 / 4)
    assert r["agreement_found"] == pytest.approx(2 / 4)
    assert (r["lost_to_detection"], r["lost_to_framing"], r["gained_by_framing"]) == (1, 1, 1)


def _evidence_table(n=40, seed=3):
    """A table whose every evidence field varies, so every reliability term is active."""
    rng = np.random.default_rng(seed)
    probs = lambda: rng.dirichlet(np.ones(len(LABELS)), size=n)  # noqa: E731
    face = {"scores": probs(), "coverage": rng.uniform(0.2, 1, n), "size": rng.uniform(10, 60, n),
            "detector_score": rng.uniform(0.2, 1, n), "agreement": rng.uniform(0.2, 1, n)}
    voice = {"scores": probs(), "speech": rng.uniform(0.1, 1, n), "level_db": rng.uniform(-50, -20, n),
             "window": rng.uniform(0.5, 3, n), "sample_rate": np.full(n, 16000)}
    return table.Table("t", np.arange(n).astype(str), rng.integers(0, 7, n), np.array(["fit", "test"] * (n // 2)),
                       np.arange(n), face, voice)


def test_every_neutralised_term_is_fully_trusted_like_bare_scores():
    from emofuse.plugins.fusion_strategies import EvidenceFusion
    from fusionbench.report import RELIABILITY_TERMS, without_terms

    t = _evidence_table()
    neutral = without_terms(t, tuple(RELIABILITY_TERMS))
    strategy = EvidenceFusion()
    bare = np.stack([strategy.fuse(EmotionScores.from_array(f, normalize=True), EmotionScores.from_array(v, normalize=True)).array
                     for f, v in zip(t.face["scores"], t.voice["scores"])])
    assert np.allclose(strategy.fuse_many(neutral.face, neutral.voice), bare, atol=1e-6)
    assert not np.allclose(strategy.fuse_many(t.face, t.voice), bare, atol=1e-3)  # the terms did matter here
    assert t.face["coverage"].min() < 1  # the table it came from is untouched


@pytest.mark.parametrize("term", ["face coverage", "face size", "face detector score", "face agreement",
                                  "voice speech share", "voice level", "voice window"])
def test_neutralising_one_term_changes_only_its_own_field(term):
    from fusionbench.report import RELIABILITY_TERMS, without_terms

    t = _evidence_table()
    side, field, _ = RELIABILITY_TERMS[term]
    out = without_terms(t, (term,))
    for s in ("face", "voice"):
        for k, v in getattr(t, s).items():
            same = np.array_equal(getattr(out, s)[k], v)
            assert same == ((s, k) != (side, field)), (s, k)


def test_ablation_rows_cross_fit_each_term_and_the_groups():
    from fusionbench.report import ABLATIONS, ablation, ablation_markdown

    t = _evidence_table()
    res = ablation([t], log=lambda *_: None)
    assert list(res) == list(ABLATIONS) and ABLATIONS["every term"] == tuple(n for n in ABLATIONS if len(ABLATIONS[n]) == 1)
    assert all(res[name]["t"].shape == (len(t.clips),) for name in res)
    rows = {"t": {"evidence (cross-fitted)": res["voice speech share"]["t"]}}
    text = ablation_markdown({"rows": rows, "ablation": res}, ["t"])
    assert "| voice speech share |" in text and "+0.0% | 0 / 0 |" in text.split("| voice speech share |")[1].split("\n")[0]


def test_ablation_refits_on_tables_with_exactly_its_terms_neutralised(monkeypatch):
    import fusionbench.report as report

    calls = []

    def recording_cross_fit(tables, leave_condition_out, log=None):
        calls.append((tables, leave_condition_out))
        return {x.name: np.zeros(len(x.clips), bool) for x in tables}, {}

    monkeypatch.setattr(report, "cross_fitted", recording_cross_fit)
    report.ablation([_evidence_table()], log=lambda *_: None)
    assert len(calls) == len(report.ABLATIONS)
    for (name, terms), (tables, leave_out) in zip(report.ABLATIONS.items(), calls):
        assert leave_out is False
        for term, (side, field, neutral) in report.RELIABILITY_TERMS.items():
            assert bool(np.all(getattr(tables[0], side)[field] == neutral)) == (term in terms), (name, term)
