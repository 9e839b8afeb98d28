"""Face renderings: how a FER2013 PublicTest face (48x48 grey) appears in a 640x480 video frame.

- `upscaled`: the audio-visual benchmark's clips (bicubic 4.6-5.4x, ~240 px, grey; benchmarks/avbench);
- `sharp`: 150-300 px, upscaled with Lanczos and sharpened (a face at a camera's native
  sharpness, as far as 48 px allow), then a camera's blur (Gaussian, sigma 0.6-1.5 px), a
  warm tint, sensor noise and JPEG (quality 55-90) on every frame;
- `small`: 60-80 px, the same camera treatment with less blur (sigma 0.4-0.9 px).

Every face drifts slowly around the frame centre (as in the audio-visual benchmark). Each clip's
random choices come from its own seed, so a rendering is the same every time.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from emofuse.plugins.fer_cnn.runtime_crops import camera_face, jpeg  # the camera rendering, one copy

FACE_STYLES = ("upscaled", "sharp", "small")
FRAME_SIZE = (640, 480)
#: (min, max) face side in pixels, Gaussian blur sigma range, JPEG quality range per style.
CAMERA = {"sharp": ((150, 300), (0.6, 1.5), (55, 90)), "small": ((60, 80), (0.4, 0.9), (55, 90))}


def face_frames(style: str, face48: np.ndarray, seconds: float, fps: float, rng: np.random.Generator,
                scale: float = 5.0, phase: float = 0.0) -> Iterator[np.ndarray]:
    """RGB uint8 frames (640x480) of one face for `seconds` at `fps`, rendered in `style`."""
    if style == "upscaled":
        from avbench.clips import render_frames

        yield from render_frames(face48, seconds, scale, phase, fps, FRAME_SIZE)
        return
    if style not in CAMERA:
        raise ValueError(f"unknown face style {style!r}; styles: {', '.join(FACE_STYLES)}")
    from avbench.clips import swaying_frames

    (lo, hi), (blur_lo, blur_hi), (q_lo, q_hi) = CAMERA[style]
    side = int(round(rng.uniform(lo, hi) / 2)) * 2
    face_rgb = np.clip(camera_face(face48, side, rng, (blur_lo, blur_hi)), 0, 255).astype(np.uint8)
    quality = int(rng.integers(q_lo, q_hi + 1))

    for frame in swaying_frames(face_rgb, seconds, phase, fps, FRAME_SIZE):
        noisy = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
        yield jpeg(noisy, quality)


