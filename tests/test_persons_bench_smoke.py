"""benchmarks/persons_bench.py still runs against the engine it measures (it had gone stale once:
`TrackBook.cut()` lost its argument and only the benchmark called it the old way)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import persons_bench as pb  # noqa: E402


def test_a_scenario_goes_through_detection_tracks_embedding_and_clustering(monkeypatch):
    from emofuse.plugins.pixel_embed import PixelEmbedder

    monkeypatch.setattr(pb.F, "fer_portraits", lambda count: [])  # no FER2013 needed: two public-domain people
    frames = pb.detections(pb.scenarios(0)["same-spot"], pb.Portraits(0))
    score = pb.score(frames, pb.persons_of(frames, pb.Timed(PixelEmbedder())))
    assert score["true"] == 2 and score["seen"] == 2
    assert score["purity"] == 1.0 and score["persons_per_id"] == 1.0
