"""The audio-visual fusion benchmark (issue 5): clips from held-out faces and voices, and their scores.

Modules:
  clips        plan and render the clips (FER2013 PublicTest face + RAVDESS held-out actor utterance)
  record       run the real emofuse pipeline on each clip and record per-segment scores
  scoring      segment tables, clip-level accuracy, per-class recall (from a table or a CSV)
  calibration  temperatures, NLL and ECE
  learned      a multinomial logistic regression on the two score vectors (numpy only)
  report       everything above on the fit half and the held-out half, as markdown + JSON

Run it with `python benchmarks/av_benchmark.py --help`. Nothing here is part of the installed
package; tests import it by putting `benchmarks/` on sys.path.
"""
