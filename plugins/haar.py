"""Built-in `haar` face detector: OpenCV's frontal-face Haar cascade (from `cv2.data`)."""
from __future__ import annotations

from emofuse.hookspecs import hookimpl

CASCADE = "haarcascade_frontalface_default.xml"


class HaarFaceDetector:
    """Viola-Jones frontal faces. Frames wider than `detect_width` are shrunk first (2x faster,
    nearly the same hits); boxes are returned in the original frame's pixels."""

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 24,
                 detect_width: int = 320, cascade: str | None = None) -> None:
        import cv2

        from emofuse.errors import PluginError

        if not hasattr(cv2, "CascadeClassifier"):
            raise PluginError("this OpenCV build has no CascadeClassifier (OpenCV 5 dropped it); install opencv-python<5")
        path = cascade or (cv2.data.haarcascades + CASCADE)
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise PluginError(f"{path}: cannot load the Haar cascade")
        self.scale_factor, self.min_neighbors = float(scale_factor), int(min_neighbors)
        self.min_size, self.detect_width = int(min_size), int(detect_width)

    def detect(self, frame):
        import cv2

        from emofuse.types import FaceBox

        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scale = 1.0
        if self.detect_width and gray.shape[1] > self.detect_width:
            scale = gray.shape[1] / self.detect_width
            gray = cv2.resize(gray, (self.detect_width, round(gray.shape[0] / scale)), interpolation=cv2.INTER_AREA)
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        return [
            FaceBox(round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale)))
            for (x, y, w, h) in (found if len(found) else [])
        ]


@hookimpl
def register_face_detectors(register):
    register("haar", HaarFaceDetector, description="OpenCV Haar cascade, frontal faces (fast, CPU)")
