"""The conditions of the benchmark: which face style is paired with which voice style."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Condition:
    """`speaking`: keep only the segments in which the clean utterance has speech (the runner gave
    its voice evidence), as in a video where someone talks throughout; False keeps the whole
    utterance with the silence before and after it (the audio-visual benchmark's clips)."""

    name: str
    face: str  # a style of fusionbench.faces
    voice: str  # a style of fusionbench.voices
    what: str
    speaking: bool = True


#: The voice style whose speech segments define "the speaking part" of every clip.
SPEAKING_REFERENCE = "clean"

CONDITIONS = (
    Condition("av-pairs-whole", "upscaled", "clean", "the audio-visual benchmark's clips as they are: 48-px faces "
              "upscaled ~5x, clean voice, the silence around the utterance included", speaking=False),
    Condition("av-pairs", "upscaled", "clean", "the same pairs, their speaking part only"),
    Condition("sharp-faces", "sharp", "clean", "faces at 150-300 px, sharpened, camera blur + JPEG; clean voice"),
    Condition("small-faces", "small", "clean", "faces at 60-80 px, camera blur + JPEG; clean voice"),
    Condition("noise-10dB", "sharp", "noise10", "sharp faces; voice in pink noise at 10 dB SNR"),
    Condition("noise-0dB", "sharp", "noise0", "sharp faces; voice in pink noise at 0 dB SNR"),
    Condition("reverb", "sharp", "reverb", "sharp faces; voice in a synthetic room (RT60 0.4-0.9 s)"),
    Condition("telephone", "sharp", "telephone", "sharp faces; voice through an 8 kHz, 300-3400 Hz mu-law channel"),
    Condition("music", "sharp", "music", "sharp faces; music and no speech (the face's label is the truth)"),
)

#: The real talking-face clips, recorded with both modalities from one file (never fitted on).
CREMA = "crema-d"


def styles(conditions=CONDITIONS) -> tuple[list[str], list[str]]:
    """The face styles and the voice styles the conditions need, each once."""
    return list(dict.fromkeys(c.face for c in conditions)), list(dict.fromkeys(c.voice for c in conditions))
