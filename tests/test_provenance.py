"""A timeline records what made it (issue 14 item 9) and writes itself (to_json, plot)."""
import hashlib
import json

import emofuse
from emofuse.provenance import models_of, settings_of
from emofuse.runner import AnalysisOptions

from .fakes import FAKE_CHOICES


def test_json_records_version_settings_and_components(fake_components, media_dir, tmp_path):
    timeline = emofuse.analyze(media_dir / "clip.mp4", segment=0.5, fps=2.0, **FAKE_CHOICES)
    timeline.to_json(tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["emofuse"] == emofuse.__version__
    assert doc["settings"]["segment"] == 0.5 and doc["settings"]["fps"] == 2.0
    assert doc["settings"]["fusion"] == "evidence" and doc["settings"]["face_embedder"] == "mean-colour"
    assert doc["components"]["face_detector"] == "center"
    timeline.plot(tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_auto_components_are_recorded_as_what_ran():
    settings = settings_of(AnalysisOptions())
    assert settings["voice_activity"] in ("silero", "energy") and settings["face_embedder"] in ("dlib", "pixels")
    assert settings_of(AnalysisOptions(detect_fps=float("inf")))["detect_fps"] == "all"


def test_models_are_recorded_by_file_and_hash(tmp_path):
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")

    class WithModel:
        model_path = model

    recorded = models_of({"visual_classifier": WithModel(), "fusion": object()})
    assert recorded == {"visual_classifier": {"file": "m.bin", "sha256": hashlib.sha256(b"weights").hexdigest()}}


def test_api_errors_name_the_option_not_a_command_line_flag():
    import pytest

    for choices, name in (({"segment": -1}, "segment"), ({"fps": 0}, "fps"), ({"smooth": "mean:2"}, "smooth"),
                          ({"min_speech": 2}, "min_speech"), ({"detect_fps": -1}, "detect_fps")):
        with pytest.raises(emofuse.EmofuseError) as err:
            AnalysisOptions(**choices)
        assert str(err.value).startswith(name) and "--" not in str(err.value)
