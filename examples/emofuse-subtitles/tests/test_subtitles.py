import numpy as np

import emofuse
from emofuse.testing import check_exporter
from emofuse_subtitles import SrtExporter, VttExporter, cues


def scores(i):
    return emofuse.EmotionScores.from_array(np.eye(7)[i] * 0.93 + 0.01)


HAPPY, SAD = scores(3), scores(4)
TIMELINE = emofuse.Timeline("x.mp4", [
    emofuse.SegmentResult(0, 1, face=HAPPY, fused=HAPPY, faces=1),
    emofuse.SegmentResult(1, 2, face=HAPPY, voice=SAD, fused=HAPPY, faces=1),
    emofuse.SegmentResult(2, 3),
    emofuse.SegmentResult(3, 4, voice=SAD, fused=SAD),
], duration=4.0)


def test_runs_of_one_label_become_one_cue():
    assert cues(TIMELINE) == [(0, 2, "happy 94% (face happy, voice sad)"), (3, 4, "sad 94% (voice sad)")]


def test_srt_and_vtt_files(tmp_path):
    SrtExporter().write(TIMELINE, tmp_path / "a.srt")
    assert (tmp_path / "a.srt").read_text().startswith("1\n00:00:00,000 --> 00:00:02,000\nhappy 94%")
    VttExporter().write(TIMELINE, tmp_path / "a.vtt")
    text = (tmp_path / "a.vtt").read_text()
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.000") and "00:00:03.000 --> 00:00:04.000" in text


def test_exporters_honour_the_emofuse_contract(tmp_path):
    check_exporter(SrtExporter(), tmp_path)
    check_exporter(VttExporter(), tmp_path)
