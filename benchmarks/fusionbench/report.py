"""Score every strategy on every condition from the cached evidence; fit `evidence` honestly.

Protocol: the clips come in two halves, disjoint by actor and by face (the audio-visual
benchmark's split: actors 19/20 vs 17/18). `evidence (cross-fitted)` is fitted on one half,
every condition at once, and scores the other half; then the halves swap, so every clip is
scored by parameters fitted without it, its actor or its face. `evidence (condition left out)`
also leaves the reported condition out of the fit. `evidence (shipped)` runs with the defaults
in plugins/fusion_strategies.py, fitted on all clips (in-sample here, except on CREMA-D).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from . import fit as F
from .conditions import CONDITIONS, CREMA, SPEAKING_REFERENCE
from .table import Table, clip_correct, crema_table, join, run_strategy

SINGLE = ("face alone", "voice alone")
FIXED = (("weighted (face 0 / voice 1)", "weighted", {}),
         ("weighted 0.5 / 0.5", "weighted", {"face_weight": 0.5, "voice_weight": 0.5}),
         ("product 0.5 / 0.5", "product", {}),
         ("max-confidence", "max-confidence", {}),
         ("evidence (shipped)", "evidence", {}))
DEFAULT_ROW = "evidence (cross-fitted)"
#: The issue's bar: the default at least this much above the better single modality, on average...
MEAN_MARGIN = 0.05
#: ...and never below it in any condition.
WORST_MARGIN = 0.0


def create(name: str, **options):
    from emofuse.plugin_manager import get_components

    return get_components()["fusion"].create(name, **options)


#: Each per-segment reliability term of `evidence` and the field value that makes it 1 (neutral).
RELIABILITY_TERMS = {
    "face coverage": ("face", "coverage", 1.0),
    "face size": ("face", "size", 0.0),  # 0 = unknown: fully trusted
    "face detector score": ("face", "detector_score", 1.0),
    "face agreement": ("face", "agreement", 1.0),
    "voice speech share": ("voice", "speech", 1.0),
    "voice level": ("voice", "level_db", 0.0),  # above loud_db
    "voice window": ("voice", "window", 0.0),  # 0 = unknown: fully trusted
}
#: The ablation's rows: one term at a time, then each modality's terms, then all of them.
ABLATIONS = {**{name: (name,) for name in RELIABILITY_TERMS},
             "every face term": tuple(n for n in RELIABILITY_TERMS if n.startswith("face")),
             "every voice term": tuple(n for n in RELIABILITY_TERMS if n.startswith("voice")),
             "every term": tuple(RELIABILITY_TERMS)}


def without_terms(table: Table, terms: tuple[str, ...]) -> Table:
    """`table` with the evidence fields of `terms` set to their neutral value in every row."""
    sides = {"face": dict(table.face), "voice": dict(table.voice)}
    for term in terms:
        side, field, neutral = RELIABILITY_TERMS[term]
        sides[side][field] = np.full(len(table), neutral)
    return dataclasses.replace(table, face=sides["face"], voice=sides["voice"])


def load_tables(folder: Path) -> tuple[list[Table], Table | None]:
    """The conditions' tables (speaking conditions thinned to the speaking segments) and CREMA-D's."""
    ev = folder / "evidence"
    reference = join("reference", ev / f"face-{CONDITIONS[0].face}.npz", ev / f"voice-{SPEAKING_REFERENCE}.npz")
    spoken = {(reference.clips[c], int(s)) for c, s, here in
              zip(reference.row_clip, reference.row_segment, ~np.isnan(reference.voice["scores"]).any(axis=1)) if here}
    tables = []
    for c in CONDITIONS:
        t = join(c.name, ev / f"face-{c.face}.npz", ev / f"voice-{c.voice}.npz")
        if c.speaking:
            t = t.keep_rows(np.array([(t.clips[i], int(s)) in spoken for i, s in zip(t.row_clip, t.row_segment)]))
        tables.append(t)
    crema = crema_table(ev / "crema-d.npz") if (ev / "crema-d.npz").is_file() else None
    return tables, crema


def _correct(table: Table, rows: np.ndarray) -> np.ndarray:
    return clip_correct(table, rows)


def cross_fitted(tables: list[Table], leave_condition_out: bool, log=print) -> tuple[dict, dict]:
    """Per condition, per clip: right or wrong under `evidence` fitted on the other half (without
    that condition when `leave_condition_out`); and the fitted options."""
    plain = {t.name: np.zeros(len(t.clips), bool) for t in tables}
    fits = {}
    for half, other in (("test", "fit"), ("fit", "test")):
        train_all = [t.half(other) for t in tables]
        shared = None if leave_condition_out else F.fit(train_all)
        for t, train_t in zip(tables, train_all):
            result = shared or F.fit([x for x in train_all if x.name != t.name])
            fits[f"{t.name}/{half}" if leave_condition_out else half] = result
            strategy = create("evidence", **result["options"])
            mine = t.split == half
            sub = t.half(half)
            plain[t.name][mine] = _correct(sub, strategy.fuse_many(sub.face, sub.voice))
        if log:
            log(f"  fitted on the {other} half{' (one condition left out at a time)' if leave_condition_out else ''}")
    return plain, fits


def ablation(tables: list[Table], log=print) -> dict[str, dict[str, np.ndarray]]:
    """Per row of ABLATIONS, per condition, per clip: right or wrong under `evidence` cross-fitted
    with those reliability terms neutralised (in the fit as in the scoring: the strategy is refitted
    without them, not handed options fitted with them)."""
    out = {}
    for name, terms in ABLATIONS.items():
        out[name], _ = cross_fitted([without_terms(t, terms) for t in tables], False, log=None)
    log(f"  reliability terms: {len(ABLATIONS)} ablations cross-fitted")
    return out


def evaluate(tables: list[Table], crema: Table | None, log=print) -> dict:
    rows: dict[str, dict[str, np.ndarray]] = {}
    for t in tables + ([crema] if crema is not None else []):
        r = {"face alone": _correct(t, t.face["scores"]), "voice alone": _correct(t, t.voice["scores"])}
        for label, name, options in FIXED:
            r[label] = _correct(t, run_strategy(t, create(name, **options)))
        rows[t.name] = r
    main, fits = cross_fitted(tables, False, log)
    loco, loco_fits = cross_fitted(tables, True, log)
    for t in tables:
        rows[t.name][DEFAULT_ROW] = main[t.name]
        rows[t.name]["evidence (condition left out)"] = loco[t.name]
    shipped = F.fit(tables)
    log("  fitted on every clip (what ships)")
    return {"rows": rows, "fits": fits, "loco_fits": loco_fits, "fit_all": shipped, "ablation": ablation(tables, log),
            "counts": {t.name: _counts(t) for t in tables + ([crema] if crema is not None else [])}}


def _counts(t: Table) -> dict:
    face = ~np.isnan(t.face["scores"]).any(axis=1)
    voice = ~np.isnan(t.voice["scores"]).any(axis=1)
    return {"clips": int(len(t.clips)), "segments": int(len(t)), "with_face": float(face.mean()),
            "with_voice": float(voice.mean()), "both": float((face & voice).mean())}


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign-test p-value of `wins` against `losses` (ties left out)."""
    n, k = wins + losses, min(wins, losses)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0


def verdict(res: dict, row: str = DEFAULT_ROW) -> dict:
    """Per condition: the better single modality, `row`'s gain over it and the clips won and lost
    against it; the mean gain, the worst, and whether the issue's bar is met."""
    gains, paired = {}, {}
    for cond, r in res["rows"].items():
        if cond == CREMA:
            continue
        single = max(SINGLE, key=lambda g: r[g].mean())
        gains[cond] = float(r[row].mean() - r[single].mean())
        paired[cond] = (int((r[row] & ~r[single]).sum()), int((r[single] & ~r[row]).sum()))
    mean, worst = float(np.mean(list(gains.values()))), float(min(gains.values()))
    wins, losses = sum(w for w, _ in paired.values()), sum(x for _, x in paired.values())
    return {"gains": gains, "paired": paired, "mean_gain": mean, "worst_gain": worst,
            "wins": wins, "losses": losses, "p_value": sign_test(wins, losses),
            "meets_bar": bool(mean >= MEAN_MARGIN and worst >= WORST_MARGIN)}


def markdown(res: dict) -> str:
    conds = [c for c in res["rows"] if c != CREMA]
    names = list(res["rows"][conds[0]])
    lines = ["Clip accuracy per condition (clip verdict = argmax of the mean over its segments; a clip "
             "with no verdict counts as wrong):", ""]
    lines.append("| | " + " | ".join(conds) + " | mean |" + (f" {CREMA} |" if CREMA in res["rows"] else ""))
    lines.append("|---|" + "---:|" * (len(conds) + 1) + ("---:|" if CREMA in res["rows"] else ""))
    for name in names:
        accs = [res["rows"][c][name].mean() for c in conds]
        cells = [f"{a:.1%}" for a in accs]
        line = f"| {name} | " + " | ".join(cells) + f" | {np.mean(accs):.1%} |"
        if CREMA in res["rows"]:
            got = res["rows"][CREMA].get(name)
            line += f" {int(got.sum())}/{len(got)} |" if got is not None else " — |"
        lines.append(line)
    best = [max(res["rows"][c]["face alone"].mean(), res["rows"][c]["voice alone"].mean()) for c in conds]
    lines.append("| better single modality | " + " | ".join(f"{b:.1%}" for b in best) + f" | {np.mean(best):.1%} |"
                 + (" |" if CREMA in res["rows"] else ""))
    v = verdict(res)
    lines.append("")
    lines.append(f"{DEFAULT_ROW} minus the better single modality (clips right only with it / only with "
                 "that modality): " + ", ".join(f"{c} {g:+.1%} ({v['paired'][c][0]}/{v['paired'][c][1]})"
                                                for c, g in v["gains"].items())
                 + f"; mean {v['mean_gain']:+.1%}, worst {v['worst_gain']:+.1%}; all conditions {v['wins']} won, "
                 f"{v['losses']} lost (sign test p = {v['p_value']:.2g}, the conditions share clips). The bar (mean >= "
                 f"{MEAN_MARGIN:+.0%}, none below {WORST_MARGIN:+.0%}) is {'met' if v['meets_bar'] else 'NOT met'}.")
    lines.append("")
    c = res["counts"]
    lines.append("| condition | clips | segments | with a face | with voice | with both |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for cond, k in c.items():
        lines.append(f"| {cond} | {k['clips']} | {k['segments']} | {k['with_face']:.0%} | {k['with_voice']:.0%} | {k['both']:.0%} |")
    lines.append("")
    lines.append("Fitted options (`evidence`):")
    lines.append("")
    keys = ("face_weight", "voice_weight", "face_temperature", "voice_temperature", "confidence_power", "narrowband_weight")
    lines.append("| fitted on | " + " | ".join(keys) + " | fit accuracy |")
    lines.append("|---|" + "---:|" * (len(keys) + 1))
    other = {"test": "fit", "fit": "test"}
    for label, result in [*((f"{other[k]} half (reported on the {k} half)", r) for k, r in res["fits"].items()),
                          ("every clip (shipped)", res["fit_all"])]:
        o = result["options"]
        lines.append(f"| {label} | " + " | ".join(f"{o[k]:g}" for k in keys) + f" | {result['fit_accuracy']:.1%} |")
    spread = {k: sorted({r["options"][k] for r in res["loco_fits"].values()}) for k in keys}
    lines.append("")
    lines.append("Leaving one condition out of the fit, the options range over: "
                 + "; ".join(f"{k} {', '.join(f'{x:g}' for x in v)}" for k, v in spread.items()) + ".")
    if res.get("ablation"):
        lines += ["", ablation_markdown(res, conds)]
    return "\n".join(lines)


def ablation_markdown(res: dict, conds: list[str]) -> str:
    """The reliability-term ablation: cross-fitted accuracy with each term neutralised and refitted,
    its change against `evidence` with every term, and the clips it wins and loses against it."""
    base = [res["rows"][c][DEFAULT_ROW] for c in conds]
    base_mean = np.mean([b.mean() for b in base])
    lines = ["Reliability terms of `evidence`, each neutralised (set to its fully-trusted value) and the "
             "strategy refitted without it, cross-fitted as above:", "",
             "| neutralised | " + " | ".join(conds) + " | mean | change | clips won / lost |",
             "|---|" + "---:|" * (len(conds) + 3)]
    for name, per in res["ablation"].items():
        accs = [per[c].mean() for c in conds]
        won = sum(int((per[c] & ~b).sum()) for c, b in zip(conds, base))
        lost = sum(int((b & ~per[c]).sum()) for c, b in zip(conds, base))
        lines.append(f"| {name} | " + " | ".join(f"{a:.1%}" for a in accs)
                     + f" | {np.mean(accs):.1%} | {np.mean(accs) - base_mean:+.1%} | {won} / {lost} |")
    return "\n".join(lines)


def run_report(folder: Path, log=print) -> dict:
    tables, crema = load_tables(folder)
    res = evaluate(tables, crema, log)
    text = markdown(res)
    print(text)
    (folder / "report.md").write_text(text + "\n")
    payload = {"accuracy": {c: {k: float(v.mean()) for k, v in r.items()} for c, r in res["rows"].items()},
               "correct": {c: {k: v.astype(int).tolist() for k, v in r.items()} for c, r in res["rows"].items()},
               "verdict": verdict(res), "counts": res["counts"], "fit_all": res["fit_all"], "fits": res["fits"],
               "loco_fits": res["loco_fits"],
               "ablation": {name: {c: float(v.mean()) for c, v in per.items()} for name, per in res["ablation"].items()}}
    (folder / "results.json").write_text(json.dumps(payload, indent=1))
    return res
