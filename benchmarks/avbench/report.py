"""Everything the benchmark reports, from the recorded clips: fit on the fit half, report on the test half."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emofuse.labels import LABELS

from . import calibration, learned
from .scoring import add_fused, clip_accuracy, clip_scores, cols, per_class_recall, segment_agreement, segment_table

WEIGHT_GRID = tuple(round(w, 2) for w in np.arange(0.0, 1.0001, 0.05))
SMOOTHING_GRID = (("ema", 2), ("ema", 3), ("ema", 4), ("median", 3), ("median", 5))
#: Declared before looking: a learned fusion ships only if it beats the best simple strategy by this much (test half).
LEARNED_MARGIN = 0.03


def strategy(name: str, **options):
    """A fusion strategy from the real plugin registry."""
    from emofuse.plugin_manager import get_components

    return get_components()["fusion"].create(name, **options)


def clip_nll(table, group: str) -> float:
    """Mean -log(mean probability of the true label) over the clips where `group` spoke."""
    _, means, truth = clip_scores(table, group)
    ok = ~np.isnan(means).any(axis=1)
    y = np.array([LABELS.index(t) for t in truth])
    if not ok.any():
        return float("nan")
    return float(-np.mean(np.log(np.maximum(means[ok, y[ok]], 1e-12))))


def paired(table, a: str, b: str) -> dict:
    """Clips `a` gets right and `b` wrong, and the reverse, with an exact two-sided sign-test p-value."""
    right = {}
    for group in (a, b):
        clips, means, truth = clip_scores(table, group)
        ok = ~np.isnan(means).any(axis=1)
        pred = np.where(ok, np.argmax(np.nan_to_num(means, nan=-1.0), axis=1), -1)
        right[group] = pred == np.array([LABELS.index(t) for t in truth])
    only_a = int((right[a] & ~right[b]).sum())
    only_b = int((right[b] & ~right[a]).sum())
    n = only_a + only_b
    k = min(only_a, only_b)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"only_" + a: only_a, "only_" + b: only_b, "p_value": p}


def tune_weight(fit_table, name: str) -> dict:
    """The face weight (voice weight = 1 - face weight) with the best fit-half clip accuracy (ties: lower clip NLL)."""
    curve = []
    for w in WEIGHT_GRID:
        t = add_fused(fit_table, strategy(name, face_weight=w, voice_weight=round(1 - w, 2)))
        curve.append({"face_weight": w, "accuracy": clip_accuracy(t, "fused")["accuracy"], "nll": clip_nll(t, "fused")})
    best = max(curve, key=lambda r: (round(r["accuracy"], 9), -r["nll"]))
    return {"face_weight": best["face_weight"], "voice_weight": round(1 - best["face_weight"], 2), "curve": curve}


def smoothing_study(table, split_tables: dict) -> dict:
    """Segment-level agreement of the fused label with the clip label, before and after smoothing."""
    from emofuse.smoothing import smooth_timeline
    from emofuse.types import EmotionScores, SegmentResult, Timeline

    def smoothed(t, method, window):
        out = t.copy()
        values = out[cols("fused")].to_numpy(float).copy()
        for _, idx in out.groupby("clip", sort=False).indices.items():
            segs = [SegmentResult(float(out["start"].iloc[i]), float(out["end"].iloc[i]),
                                  fused=None if np.isnan(values[i]).any()
                                  else EmotionScores.from_array(values[i], normalize=True)) for i in idx]
            result = smooth_timeline(Timeline("clip", segs), method, window, groups=("fused",))
            for i, seg in zip(idx, result.segments):
                if seg.fused is not None:
                    values[i] = seg.fused.array
        out[cols("fused")] = values
        return out

    results = {}
    for split, t in split_tables.items():
        rows = {"none": segment_agreement(t, "fused")}
        for method, window in SMOOTHING_GRID:
            rows[f"{method}({window})"] = segment_agreement(smoothed(t, method, window), "fused")
        results[split] = rows
    best = max(results["fit"], key=lambda k: results["fit"][k]["agreement"])
    return {"by_split": results, "chosen_on_fit": best}


def evaluate(records: Sequence[dict], header: dict, use_fitted_temperatures: bool = False) -> dict:
    """All figures. Scores are taken at the models' shipped temperatures (what `emofuse analyze` uses)."""
    face_t_shipped = float(header.get("face_temperature_shipped", 1.0))
    voice_t_model = float(header.get("voice_temperature", 1.0))
    out: dict = {"header": header}

    # calibration, segment level, against the clip label
    cal = {}
    for modality, shipped, model_t in (("face", face_t_shipped, 1.0), ("voice", voice_t_model, voice_t_model)):
        fitted = calibration.fit_modality_temperature(records, modality, "fit", model_t)
        cal[modality] = {
            "shipped_temperature": shipped, "fitted_temperature": fitted,
            **{f"{split}_{name}": calibration.calibration_figures(records, modality, t, split, model_t)
               for split in ("fit", "test") for name, t in (("t1", 1.0), ("shipped", shipped), ("fitted", fitted))},
        }
    out["calibration"] = cal
    face_t = cal["face"]["fitted_temperature"] if use_fitted_temperatures else face_t_shipped
    voice_t = cal["voice"]["fitted_temperature"] if use_fitted_temperatures else voice_t_model
    out["temperatures_used"] = {"face": face_t, "voice": voice_t}

    table = segment_table(records, face_t, voice_t, voice_t_model)
    fit_t, test_t = table[table["split"] == "fit"], table[table["split"] == "test"]
    out["counts"] = _counts(records, table)

    # weights by measurement on the fit half
    tuned = {name: tune_weight(fit_t, name) for name in ("weighted", "product")}
    out["tuned"] = tuned
    strategies = {
        "weighted 0.5/0.5": strategy("weighted", face_weight=0.5, voice_weight=0.5),
        "product 0.5/0.5": strategy("product", face_weight=0.5, voice_weight=0.5),
        "max-confidence": strategy("max-confidence"),
        "weighted, tuned": strategy(
            "weighted", face_weight=tuned["weighted"]["face_weight"], voice_weight=tuned["weighted"]["voice_weight"]),
        "product, tuned": strategy(
            "product", face_weight=tuned["product"]["face_weight"], voice_weight=tuned["product"]["voice_weight"]),
    }

    # learned fusion, fitted on the fit half (L2 by leave-one-actor-out inside it)
    l2, l2_scores = learned.choose_l2(fit_t)
    W = learned.fit(learned.features(fit_t), learned.labels_of(fit_t), learned.segment_weights(fit_t), l2)
    out["learned"] = {"l2": l2, "l2_cv_logloss": l2_scores, "W": W}

    accuracy: dict = {}
    split_tables = {}
    for split, t in (("fit", fit_t), ("test", test_t)):
        rows = {"face only": clip_accuracy(t, "face"), "voice only": clip_accuracy(t, "voice")}
        for name, s in strategies.items():
            tt = add_fused(t, s, "fused")
            rows[name] = clip_accuracy(tt, "fused")
            t = t.assign(**{f"{name}_{label}": tt[f"fused_{label}"] for label in LABELS})
        p = learned.predict(W, learned.features(t))
        t = t.assign(**{f"learned_{label}": p[:, i] for i, label in enumerate(LABELS)})
        rows["learned"] = clip_accuracy(t, "learned")
        accuracy[split] = rows
        split_tables[split] = t
    out["accuracy"] = accuracy
    default = "weighted, tuned"
    out["default_strategy"] = default
    test = split_tables["test"]
    groups = ["face", "voice", *strategies, "learned"]
    out["per_class_test"] = per_class_recall(test, groups)
    best_single = max(("face", "voice"), key=lambda g: accuracy["test"][f"{g} only"]["accuracy"])
    out["paired_test"] = {name: paired(test, name, best_single) for name in [*strategies, "learned"]}
    out["best_single_test"] = best_single
    simple_best = max(strategies, key=lambda k: accuracy["test"][k]["accuracy"])
    out["learned_ships"] = bool(accuracy["test"]["learned"]["accuracy"]
                                >= accuracy["test"][simple_best]["accuracy"] + LEARNED_MARGIN)
    out["smoothing"] = smoothing_study(table, {s: _with_fused(split_tables[s], default) for s in ("fit", "test")})
    return out


def swap_halves(records: Sequence[dict]) -> list[dict]:
    """The same records with the fit and test halves exchanged (a second, independent fit/report round)."""
    other = {"fit": "test", "test": "fit"}
    return [{**r, "split": other[r["split"]]} for r in records]


def _with_fused(t, name):
    return t.assign(**{f"fused_{label}": t[f"{name}_{label}"] for label in LABELS})


def _counts(records, table) -> dict:
    out = {}
    for split in ("fit", "test"):
        recs = [r for r in records if r["split"] == split]
        segs = [s for r in recs for s in r["segments"]]
        out[split] = {
            "clips": len(recs),
            "actors": sorted({r["actor"] for r in recs}),
            "faces": len({r["face_index"] for r in recs}),
            "per_class": {label: sum(r["label"] == label for r in recs) for label in LABELS},
            "segments": len(segs),
            "segments_with_face": sum(bool(s["face_crops"]) for s in segs),
            "segments_with_voice": sum(s["voice_raw"] is not None for s in segs),
            "clips_without_face": sum(not any(s["face_crops"] for s in r["segments"]) for r in recs),
            "clips_without_voice": sum(all(s["voice_raw"] is None for s in r["segments"]) for r in recs),
            "seconds": round(sum(r["duration"] for r in recs), 1),
        }
    return out


# ------------------------------------------------------------------------------------- markdown


def markdown(res: dict) -> str:
    lines = []
    c = res["counts"]
    lines.append("| half | clips | actors | faces | seconds | segments | with a face | with voice | clips with no face found |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for split in ("fit", "test"):
        k = c[split]
        lines.append(f"| {split} | {k['clips']} | {','.join(map(str, k['actors']))} | {k['faces']} | {k['seconds']} | "
                     f"{k['segments']} | {k['segments_with_face']} | {k['segments_with_voice']} | {k['clips_without_face']} |")
    lines.append("")
    lines.append("Clip-level accuracy (a clip with no verdict from a group counts as a miss):")
    lines.append("")
    swapped = res.get("swapped")
    lines.append("| | fit half | held-out half | held-out: clips right only here / only in the better single modality "
                 "(sign test p) |" + (" halves swapped: held-out | mean of both held-out halves |" if swapped else ""))
    lines.append("|---|---:|---:|---|" + ("---:|---:|" if swapped else ""))
    acc = res["accuracy"]
    for name in acc["test"]:
        pair = res["paired_test"].get(name)
        extra = ""
        if pair:
            a, b = list(pair)[:2]
            extra = f"{pair[a]} / {pair[b]} (p = {pair['p_value']:.3f})"
        miss = acc["test"][name]["missing"]
        line = (f"| {name} | {acc['fit'][name]['accuracy']:.1%} | {acc['test'][name]['accuracy']:.1%}"
                f"{f' ({miss} no verdict)' if miss else ''} | {extra} |")
        if swapped:
            other = swapped["accuracy"]["test"][name]
            line += f" {other['accuracy']:.1%} | {(acc['test'][name]['accuracy'] + other['accuracy']) / 2:.1%} |"
        lines.append(line)
    lines.append("")
    tw, tp = res["tuned"]["weighted"], res["tuned"]["product"]
    lines.append(f"Tuned on the fit half: weighted face {tw['face_weight']:.2f} / voice {tw['voice_weight']:.2f}, "
                 f"product face {tp['face_weight']:.2f} / voice {tp['voice_weight']:.2f}"
                 + (f"; halves swapped: weighted face {swapped['tuned']['weighted']['face_weight']:.2f}, product face "
                    f"{swapped['tuned']['product']['face_weight']:.2f}" if swapped else "")
                 + f". Learned fusion: L2 {res['learned']['l2']} (leave-one-actor-out on the fit half).")
    lines.append("")
    lines.append("Per-class clip-level recall on the held-out half:")
    lines.append("")
    frame = res["per_class_test"]
    lines.append("| class | clips | " + " | ".join(frame.columns[1:]) + " |")
    lines.append("|---|---:|" + "---:|" * (len(frame.columns) - 1))
    for label, row in frame.iterrows():
        lines.append(f"| {label} | {int(row['clips'])} | " + " | ".join(f"{row[g]:.0%}" for g in frame.columns[1:]) + " |")
    lines.append("")
    lines.append("Calibration (segment level, target = the clip's label; NLL / ECE):")
    lines.append("")
    lines.append("| modality | T | fit NLL | fit ECE | held-out NLL | held-out ECE |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for modality, cal in res["calibration"].items():
        for name, what in (("t1", "1 (none)"), ("shipped", f"{cal['shipped_temperature']:.2f} (shipped)"),
                           ("fitted", f"{cal['fitted_temperature']:.2f} (fitted on the fit half)")):
            f, t = cal[f"fit_{name}"], cal[f"test_{name}"]
            lines.append(f"| {modality} | {what} | {f['nll']:.3f} | {f['ece']:.3f} | {t['nll']:.3f} | {t['ece']:.3f} |")
    lines.append("")
    lines.append("Face-weight grid (weighted, fit half): " + ", ".join(
        f"{r['face_weight']:.2f}: {r['accuracy']:.1%}" for r in res["tuned"]["weighted"]["curve"][::2]))
    lines.append("")
    sm = res["smoothing"]
    lines.append("Smoothing, segment-level agreement of the default fusion's label with the clip label:")
    lines.append("")
    lines.append("| smoothing | fit half | held-out half |")
    lines.append("|---|---:|---:|")
    for key in sm["by_split"]["fit"]:
        lines.append(f"| {key} | {sm['by_split']['fit'][key]['agreement']:.1%} | {sm['by_split']['test'][key]['agreement']:.1%} |")
    lines.append(f"\nchosen on the fit half: {sm['chosen_on_fit']}")
    return "\n".join(lines)


def jsonable(obj):
    """Results as plain JSON (DataFrames as dicts, arrays as lists)."""
    import pandas as pd

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return {str(k): jsonable(v) for k, v in obj.to_dict(orient="index").items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
