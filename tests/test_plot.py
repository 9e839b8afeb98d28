"""The timeline plot: a segment with no data is drawn as a hatched gap, not as a probability."""
import numpy as np

from emofuse.plot import plot_timeline
from emofuse.types import SegmentResult, Timeline

from .fakes import one_hot

HATCH = (0xD0, 0xD0, 0xD0)


def _rgb(png) -> np.ndarray:
    import matplotlib.image

    return np.round(matplotlib.image.imread(str(png))[..., :3] * 255).astype(int)


def _count(image: np.ndarray, colour) -> int:
    return int(np.all(np.abs(image - np.array(colour)) <= 6, axis=-1).sum())


def _hatch_pixels(segments, path) -> int:
    return _count(_rgb(plot_timeline(Timeline("clip.mp4", segments, {}, 2.0), path)), HATCH)


def test_a_segment_without_scores_is_hatched(tmp_path):
    """Face and voice missing in the second segment: its lanes show the hatch (grey lines on light
    grey), many times the few pixels of that grey a plot without gaps has (antialiased text)."""
    full = SegmentResult(0.0, 1.0, face=one_hot("angry", 0.9), voice=one_hot("angry", 0.9),
                         fused=one_hot("angry", 0.9))
    gap = _hatch_pixels([full, SegmentResult(1.0, 2.0)], tmp_path / "gap.png")
    none = _hatch_pixels([full, SegmentResult(1.0, 2.0, face=full.face, voice=full.voice, fused=full.fused)],
                         tmp_path / "full.png")
    assert gap > 10 * max(none, 100)
