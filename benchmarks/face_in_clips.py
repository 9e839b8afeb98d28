"""Is the face model as good inside clips as on FER2013's own crops?

    python benchmarks/face_in_clips.py                        # the shipped face model
    python benchmarks/face_in_clips.py --model runs/x.keras   # a candidate, same clips
    python benchmarks/face_in_clips.py --set zoom=0.95 --set face_view=false   # other test-time views
    python benchmarks/face_in_clips.py --detector detect_width=640            # other Haar detector options

The fusion benchmark's clips (benchmarks/fusion_conditions.py: one FER2013 PublicTest face per
clip, rendered `upscaled`, `sharp` and `small`) are analysed by the real pipeline (Haar detector,
tracker, crops, the face model; persons off); each clip's in-clip verdict (mean face scores over
the segments with a face) is set against the model's verdict on the 48x48 crop the clip was made
from. A model that has learnt FER2013's framing rather than faces loses accuracy between the two.
Evidence is cached beside the fusion benchmark's (--cache); the shipped model's is shared with it.
PublicTest is the face model's validation split: compare models here, do not quote it as a test.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fusion_conditions import DEFAULT_CACHE, DEFAULT_DATA, folder_of, log  # noqa: E402

from emofuse.cli.options import parse_component_options  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with fer2013/ and ravdess/")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="the fusion benchmark's cache")
    parser.add_argument("--seed", type=int, default=5, help="seed of the clip plan")
    parser.add_argument("--clips", type=int, default=160, help="clips per face style")
    parser.add_argument("--model", type=Path, help="a face model (.keras) to measure instead of the shipped one")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a fer-cnn option (`emofuse list visual-classifier --options`), e.g. zoom=0.95")
    parser.add_argument("--detector", action="append", default=[], metavar="OPTION=VALUE",
                        help="a haar face-detector option (`emofuse list face-detector --options`), "
                             "e.g. detect_width=640")
    args = parser.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        parser.error(f"--model {args.model}: no such file")
    try:
        parsed = parse_component_options([f"visual-classifier.{item}" for item in args.set]
                                         + [f"face-detector.{item}" for item in args.detector])
        options = parsed.get("visual_classifier", {})
        detector_options = parsed.get("face_detector", {})
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))

    import numpy as np
    from fusionbench.crops import clip_verdicts, compare, crop_verdicts, markdown
    from fusionbench.faces import FACE_STYLES
    from fusionbench.record import Recorder, load, plan

    from emofuse.labels import LABELS
    from emofuse.plugins.fer_cnn import FerCnnClassifier

    t0 = time.time()
    from emofuse.plugins.haar import HaarFaceDetector

    try:  # a bad option is refused before the clip plan is built
        classifier = FerCnnClassifier(args.model, **options)
        HaarFaceDetector(**detector_options)
    except (TypeError, ValueError) as error:
        parser.error(f"--set/--detector: {error}")
    folder = folder_of(args)
    specs, faces = plan(Path(args.data), args.clips, args.seed)
    candidate = args.model is not None or bool(options)
    model = args.model or classifier.model_path
    truth = np.array([LABELS.index(s.label) for s in specs])
    crop = crop_verdicts(classifier, faces[[s.face_index for s in specs]])
    # a candidate (another model or options) is recorded beside the shipped model's evidence
    component_options = {"visual_classifier": {**options, "model": str(model)}} if candidate else {}
    if detector_options:
        component_options["face_detector"] = detector_options
    recorder = Recorder(specs, faces, folder, log=log, component_options=component_options)
    rows = {}
    for style in FACE_STYLES:
        _, arrays = load(recorder.evidence("face", style))
        in_clip = clip_verdicts(arrays["clip"], arrays["scores"], [s.clip for s in specs])
        rows[style] = compare(truth, crop, in_clip)
    print(f"face model: {classifier!r}; detector options: {detector_options or 'defaults'}; {len(specs)} clips; "
          f"{time.time() - t0:.0f} s\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
