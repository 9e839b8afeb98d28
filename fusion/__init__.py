"""emofuse: emotion in video from the face and the voice, fused into a timeline.

Public API:
    analyze(path, **choices) -> Timeline       analyse one media file
    Timeline, SegmentResult, EmotionScores, FaceBox   the data types
    PersonResult, Person, Sighting              per-person results, the persons of a file, faces seen
    FaceEvidence, VoiceEvidence                 what a fusion strategy receives
    LABELS                                      the 7 canonical labels, in order
    hookimpl                                    marker for plugin hook implementations
    AnalysisOptions                             every analysis choice, with defaults
"""
__version__ = "0.1.0"

from .api import analyze
from .errors import EmofuseError
from .hookspecs import hookimpl
from .labels import LABELS
from .runner import AnalysisOptions
from .types import (EmotionScores, FaceBox, FaceEvidence, Person, PersonResult, SegmentResult, Sighting, Timeline,
                    VoiceEvidence)

__all__ = [
    "LABELS", "AnalysisOptions", "EmofuseError", "EmotionScores", "FaceBox", "FaceEvidence", "Person", "PersonResult",
    "SegmentResult", "Sighting", "Timeline", "VoiceEvidence",
    "analyze", "hookimpl", "__version__",
]
