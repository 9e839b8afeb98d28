"""Built-in `haar` face detector: OpenCV's frontal-face Haar cascade (from `cv2.data`)."""
from __future__ import annotations

from emofuse.hookspecs import hookimpl

CASCADE = "haarcascade_frontalface_default.xml"

#: `track` looks for a face at this many times `min_size` (smaller is faster and misses more).
TRACK_FACE = 2.5
#: ...and only from this much smaller to this much larger than it was (1.5x faster than any size,
#: the same hits on the AV benchmark clips: 97.0 % vs 97.4 %).
TRACK_SIZES = (0.7, 1.4)


class HaarFaceDetector:
    """Viola-Jones frontal faces. Frames wider than `detect_width` are shrunk first (2x faster,
    nearly the same hits); boxes are returned in the original frame's pixels.

    Shrinking hides small faces (at 320 px a 640x480 frame shows none under ~48 px, a 1920x1080
    one none under ~144 px), so the first full scan and every `fine_every`-th after it are made
    at `fine_width` instead (counted from `new_stream()`): a face too small for the quick scans is
    found there, and tracking keeps it between full scans.

    `track(frame, boxes)` finds the faces of `boxes` again in a frame shortly after: it searches
    only the region around each box (`track_margin` of the box's size on every side), shrunk so
    the face is about `TRACK_FACE` x `min_size` pixels wide: a few milliseconds instead of a full
    scan. (1.5 x lost 32 % of the faces on the AV benchmark clips, 2 x 13 %, 2.5 x 2 %, 3 x 1 %.)
    """

    option_help = {
        "scale_factor": "image pyramid step (> 1): smaller finds more faces, slower",
        "min_neighbors": "overlapping hits a face needs (>= 0): higher, fewer false faces",
        "min_size": "smallest face searched, in pixels of the shrunk frame",
        "detect_width": "frames wider than this are shrunk before a quick full scan (0: never)",
        "fine_width": "the finer full scans shrink frames only to this width (0: never), to find smaller faces",
        "fine_every": "the first full scan and every Nth after it are the finer ones (0: none)",
        "track_margin": "tracking searches this share of a face's size around it (>= 0)",
        "cascade": "a Haar cascade .xml file (default: OpenCV's frontal-face cascade)",
    }

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 24,
                 detect_width: int = 320, track_margin: float = 0.5, cascade: str | None = None,
                 fine_width: int = 640, fine_every: int = 8) -> None:
        self.scale_factor, self.min_neighbors = float(scale_factor), int(min_neighbors)
        self.min_size, self.detect_width = int(min_size), int(detect_width)
        self.fine_width, self.fine_every = int(fine_width), int(fine_every)
        self._scans = 0
        self.track_margin = float(track_margin)
        for option, value, low, strict in (("scale_factor", self.scale_factor, 1, True),
                                           ("min_neighbors", self.min_neighbors, 0, False),
                                           ("min_size", self.min_size, 1, False),
                                           ("detect_width", self.detect_width, 0, False),
                                           ("fine_width", self.fine_width, 0, False),
                                           ("fine_every", self.fine_every, 0, False),
                                           ("track_margin", self.track_margin, 0, False)):
            if value < low or (strict and value == low):
                raise ValueError(f"{option} must be {'>' if strict else '>='} {low}, got {value:g}")
        import cv2

        from emofuse.errors import PluginError

        if not hasattr(cv2, "CascadeClassifier"):
            raise PluginError("this OpenCV build has no CascadeClassifier (OpenCV 5 dropped it); install opencv-python<5")
        path = cascade or (cv2.data.haarcascades + CASCADE)
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise PluginError(f"{path}: cannot load the Haar cascade")

    def new_stream(self) -> None:
        """A new file or camera: its first full scan is a finer one."""
        self._scans = 0

    def detect(self, frame):
        fine = bool(self.fine_every) and self._scans % self.fine_every == 0
        self._scans += 1
        gray = _gray(frame)
        width = _finer(self.detect_width, self.fine_width) if fine else self.detect_width
        scale = 1.0
        if width and gray.shape[1] > width:
            scale = gray.shape[1] / width
            gray = _resize(gray, width / gray.shape[1])
        return [_to_frame(hit, scale, 0, 0) for hit in self._scan(gray)]

    def track(self, frame, boxes):
        """The faces of `boxes` found again near where they were (faces not found are left out)."""
        from emofuse.tracking import distinct

        gray = _gray(frame)
        height, width = gray.shape
        found = []
        for box in boxes:
            margin = round(max(box.width, box.height) * self.track_margin)
            x0, y0 = max(0, box.x - margin), max(0, box.y - margin)
            x1, y1 = min(width, box.x + box.width + margin), min(height, box.y + box.height + margin)
            shrink = min(1.0, TRACK_FACE * self.min_size / max(1, box.width))
            region = _resize(gray[y0:y1, x0:x1], shrink)
            if min(region.shape) < self.min_size:
                continue
            expected = box.width * shrink  # faces do not grow or shrink much between two frames
            hits = self._scan(region, max(self.min_size, int(expected * TRACK_SIZES[0])),
                              int(expected * TRACK_SIZES[1]) + 1)
            if len(hits):
                cx, cy = (box.x + box.width / 2 - x0) * shrink, (box.y + box.height / 2 - y0) * shrink
                nearest = min(hits, key=lambda h: (h[0] + h[2] / 2 - cx) ** 2 + (h[1] + h[3] / 2 - cy) ** 2)
                found.append(_to_frame(nearest, 1 / shrink, x0, y0))
        return distinct(found)

    def _scan(self, gray, min_size: int | None = None, max_size: int | None = None):
        sizes = {"maxSize": (max_size, max_size)} if max_size else {}
        side = min_size or self.min_size
        return self._cascade.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(side, side), **sizes,
        )


def _finer(width: int, fine_width: int) -> int:
    """The wider of two shrink widths, where 0 means the frame's own width (the finest)."""
    return 0 if not width or not fine_width else max(width, fine_width)


def _gray(frame):
    import cv2

    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _resize(gray, factor: float):
    import cv2

    if factor >= 1.0:
        return gray
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _to_frame(hit, scale: float, x0: int, y0: int):
    """A detection (x, y, w, h) in a shrunk region -> FaceBox in the frame's pixels."""
    from emofuse.types import FaceBox

    x, y, w, h = (float(v) for v in hit)
    return FaceBox(x0 + round(x * scale), y0 + round(y * scale), max(1, round(w * scale)), max(1, round(h * scale)))


@hookimpl
def register_face_detectors(register):
    register("haar", HaarFaceDetector, description="OpenCV Haar cascade, frontal faces (fast, CPU)")
