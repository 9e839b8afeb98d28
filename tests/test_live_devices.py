"""`emofuse live` against real device stacks, end to end (issue 18).

- a microphone: a private PulseAudio daemon with a null sink; a known speech file is played into
  the sink and `emofuse live --mic pulse` records its monitor through PortAudio's ALSA `pulse` device;
- a network camera: an ffmpeg process serving MJPEG over HTTP on 127.0.0.1, as IP cameras do.

Each test runs the real command in a child process with the default components and checks its
CSV: voice rows where the speech was, face rows where the face was, and what happens when a
device goes away. Times in the CSV count from the start of the run, which the test sees as the
moment the first row appears (minus one segment and the grace period). System packages
(pulseaudio, pulseaudio-utils, libportaudio2, espeak-ng) are installed by `.ci/run`; without
them these tests skip and say what to install.
"""
from __future__ import annotations

import csv
import io
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emofuse.live import GRACE
from emofuse.table import COLUMNS

from .conftest import REPO

SEGMENT = 1.0
#: How far (seconds) a row must be from an event (speech on/off, face on/off, device lost) to be judged.
MARGIN = 0.5


# --------------------------------------------------------------------------- the devices


class Pulse:
    """A private PulseAudio daemon (its own socket, nobody else's) with a null sink `virt` whose
    monitor is the default source; `env` points clients (the ALSA `pulse` device, paplay) at it."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.socket = folder, folder / "native"
        self.env = {**os.environ, "PULSE_SERVER": f"unix:{self.socket}"}
        self.log = folder / "daemon.log"
        self.daemon: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PULSE_RUNTIME_PATH": str(self.folder), "HOME": str(self.folder)}
        env.pop("PULSE_SERVER", None)
        with open(self.log, "wb") as log:
            self.daemon = subprocess.Popen(
                ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                 "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
                 "-L", "module-null-sink sink_name=virt"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                break
            if self.pactl("info").returncode == 0:
                self.pactl("set-default-source", "virt.monitor")
                return
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
        self.stop()
        pytest.skip(f"the PulseAudio daemon did not start here: {' / '.join(tail) or 'no output'}")

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)

    def play(self, wav: Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", "--device=virt", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL): every client loses its stream."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(5)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()


@pytest.fixture
def pulse():
    missing = [exe for exe in ("pulseaudio", "pactl", "paplay") if shutil.which(exe) is None]
    if missing:
        pytest.skip(f"no {', '.join(missing)}: apt-get install pulseaudio pulseaudio-utils")
    check = subprocess.run([sys.executable, "-c", "import sounddevice"], capture_output=True, text=True)
    if check.returncode:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"sounddevice/PortAudio unusable ({last}): pip install sounddevice; apt-get install libportaudio2")
    folder = Path(tempfile.mkdtemp(prefix="emofuse-pa-", dir="/tmp"))  # a unix socket path must stay short
    device = Pulse(folder)
    try:
        device.start()
        probe = subprocess.run([sys.executable, "-c", "import sounddevice; sounddevice.query_devices('pulse', 'input')"],
                               env=device.env, capture_output=True, text=True)
        if probe.returncode:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            pytest.skip(f"PortAudio has no ALSA 'pulse' input ({last}): apt-get install libasound2-plugins")
        yield device
    finally:
        device.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, float]:
    """One sentence of synthesised speech (espeak-ng) without long pauses: (wav, seconds)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    import soundfile

    path = tmp_path_factory.mktemp("speech") / "said.wav"
    subprocess.run([exe, "-s", "150", "-w", str(path),
                    "The train to the city leaves at seven every morning and the children wave from the bridge"],
                   check=True)
    return path, soundfile.info(str(path)).duration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FrameServer:
    """A network camera: ffmpeg serving MJPEG over HTTP at 127.0.0.1 (one client, as `-listen 1`).

    The picture is the sample portrait while `face` is set, the empty background otherwise,
    decided frame by frame as it is sent. `kill()` ends it abruptly; `start()` serves again.
    """

    def __init__(self, fps: int = 15, size: tuple[int, int] = (640, 480)) -> None:
        from emofuse.testing import make_frame

        self.port, self.fps, self.size = free_port(), fps, size
        self.url = f"http://127.0.0.1:{self.port}/cam"
        self.face = threading.Event()
        self._pictures = {True: make_frame(*size, face=True).tobytes(), False: make_frame(*size, face=False).tobytes()}
        self._process: subprocess.Popen | None = None
        self._feeder: threading.Thread | None = None

    def start(self) -> FrameServer:
        import imageio_ffmpeg

        width, height = self.size
        self._process = subprocess.Popen(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "quiet", "-f", "rawvideo", "-pix_fmt", "rgb24",
             "-s", f"{width}x{height}", "-r", str(self.fps), "-i", "-", "-c:v", "mjpeg", "-q:v", "5",
             "-f", "mpjpeg", "-listen", "1", self.url],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._feeder = threading.Thread(target=self._feed, args=(self._process,), daemon=True)
        self._feeder.start()
        return self

    def _feed(self, process: subprocess.Popen) -> None:
        start, sent = time.monotonic(), 0
        try:
            while process.poll() is None:
                process.stdin.write(self._pictures[self.face.is_set()])
                sent += 1
                time.sleep(max(0.0, start + sent / self.fps - time.monotonic()))
        except OSError:  # killed: the pipe is gone
            pass

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._feeder is not None:
            self._feeder.join(5)


@pytest.fixture
def camera():
    server = FrameServer()
    try:
        yield server
    finally:
        server.kill()


# --------------------------------------------------------------------------- running `emofuse live`


class LiveRun:
    """`emofuse live ... -o live.csv --no-window -q` in a child process, with the run's clock."""

    def __init__(self, tmp_path: Path, args: list[str], duration: float, env: dict | None = None,
                 segment: float = SEGMENT) -> None:
        self.csv = tmp_path / "live.csv"
        self.duration, self.segment = duration, segment
        argv = [sys.executable, "-m", "emofuse.cli", "live", *args, "--duration", str(duration),
                "--segment", str(segment), "-o", str(self.csv), "--no-window", "-q"]
        env = {**(env or os.environ), "TF_CPP_MIN_LOG_LEVEL": "3"}
        self._stderr = tmp_path / "live.stderr"
        with open(self._stderr, "wb") as err:
            self.process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=err)
        self.t0 = 0.0

    def wait_for_first_row(self, timeout: float = 120.0) -> float:
        """The run's start on this process's clock: the first row is written one segment plus
        the grace period after it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"emofuse live ended before its first row: {self.stderr()}")
            if self.csv.exists() and self.csv.read_text().count("\n") >= 2:
                return time.monotonic() - self.segment - GRACE
            time.sleep(0.02)
        pytest.fail(f"no row within {timeout} s: {self.stderr()}")

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.t0

    def wait_until(self, t: float) -> float:
        time.sleep(max(0.0, t - self.now()))
        return self.now()

    def finish(self) -> tuple[int, list[dict], str]:
        """(exit code, rows, stderr) once the run has ended."""
        try:
            rc = self.process.wait(self.duration + 60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return rc, read_rows(self.csv), self.stderr()

    def stderr(self) -> str:
        return self._stderr.read_text(errors="replace")


@pytest.fixture
def live_runs():
    """The runs a test started; any still going at its end is killed."""
    runs: list[LiveRun] = []
    yield runs
    for run in runs:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def start_live(live_runs, tmp_path, args, duration, env=None, segment=SEGMENT) -> LiveRun:
    """Start `emofuse live` and return once its first row is written (its clock is then known)."""
    run = LiveRun(tmp_path, args, duration, env, segment)
    live_runs.append(run)
    run.t0 = run.wait_for_first_row()
    return run


def read_rows(path: Path) -> list[dict]:
    """Every row, after checking each line is complete."""
    text = path.read_text()
    assert text.endswith("\n"), "the last line is cut"
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == COLUMNS
    assert all(len(line) == len(COLUMNS) for line in lines[1:]), "an incomplete line"
    return [dict(zip(COLUMNS, line)) for line in lines[1:]]


def has_voice(row: dict) -> bool:
    return row["voice_neutral"] != ""


def has_face(row: dict) -> bool:
    return int(row["faces"]) > 0 and row["face_neutral"] != ""


def rows_within(rows: list[dict], start: float, end: float) -> list[dict]:
    """The rows lying wholly between `start` + MARGIN and `end` - MARGIN (run seconds)."""
    return [r for r in rows if float(r["start"]) >= start + MARGIN and float(r["end"]) <= end - MARGIN]


def rows_outside(rows: list[dict], start: float, end: float) -> list[dict]:
    """The rows lying wholly before `start` - MARGIN or after `end` + MARGIN."""
    return [r for r in rows if float(r["end"]) <= start - MARGIN or float(r["start"]) >= end + MARGIN]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("emofuse:")]


# --------------------------------------------------------------------------- the tests


def test_speech_into_the_pulseaudio_microphone_gives_voice_rows_from_its_first_second(pulse, speech, live_runs,
                                                                                    tmp_path):
    wav, length = speech
    half = 0.5  # half-second rows: a voice row that starts before `on` + 0.5 was scored within 1 s
    run = start_live(live_runs, tmp_path, ["--no-video", "--mic", "pulse"], duration=math.ceil(length) + 8,
                     env=pulse.env, segment=half)
    on = run.wait_until(3.0)
    player = pulse.play(wav)
    player.wait(length + 20)
    off = run.now()
    rc, rows, stderr = run.finish()
    assert rc == 0, stderr
    assert len(rows) == round(run.duration / half)
    voiced = [r for r in rows if has_voice(r)]
    assert voiced, f"no voice row at all; stderr: {stderr}"
    assert not any(has_face(r) for r in rows)
    assert not any(has_voice(r) for r in rows_outside(rows, on, off + 1.0)), "voice in the silence"
    assert float(voiced[0]["start"]) < on + half, "the first second of speech got no voice score"
    during = rows_within(rows, on + 1.0, off)
    assert len(during) >= 4 and all(has_voice(r) for r in during)
    assert np.mean([float(r["voice_speech"]) for r in during]) >= 0.5


def test_a_network_camera_gives_face_rows_where_the_face_was(camera, live_runs, tmp_path):
    camera.start()
    run = start_live(live_runs, tmp_path, ["--camera", camera.url, "--no-audio"], duration=10)
    on = run.wait_until(3.0)
    camera.face.set()
    off = run.wait_until(6.5)
    camera.face.clear()
    rc, rows, stderr = run.finish()
    assert rc == 0, stderr
    assert len(rows) == 10
    shown, hidden = rows_within(rows, on, off), rows_outside(rows, on, off)
    assert len(shown) >= 2 and all(has_face(r) for r in shown), [r["faces"] for r in rows]
    assert len(hidden) >= 4 and not any(has_face(r) or r["faces"] != "0" for r in hidden), [r["faces"] for r in rows]


def test_a_network_camera_that_drops_is_picked_up_again_while_the_voice_goes_on(camera, live_runs, tmp_path):
    from emofuse.testing import write_media

    voice = write_media(tmp_path / "voice.wav", 20, audio="speech")  # speech-like all along
    camera.face.set()
    camera.start()
    run = start_live(live_runs, tmp_path, ["--camera", camera.url, "--mic", str(voice), "--voice-activity", "energy"],
                     duration=13)
    lost = run.wait_until(4.0)
    camera.kill()
    back = run.wait_until(7.0)
    camera.start()
    rc, rows, stderr = run.finish()
    assert rc == 1  # the run had a failure, and says so
    lines = error_lines(stderr)
    assert len(lines) == 2, stderr
    assert lines[0].startswith(f"emofuse: error: camera {camera.url}: ") and "going on with the microphone" in lines[0]
    assert lines[1].startswith(f"emofuse: camera {camera.url}: back after ")
    assert len(rows) == 13 and all(has_voice(r) for r in rows[1:]), "the voice must go on"
    assert all(has_face(r) for r in rows_within(rows, 0, lost))
    assert not any(has_face(r) for r in rows_within(rows, lost, back))
    after = [r for r in rows if float(r["start"]) >= back + 2.5]  # reopened within a second or two
    assert len(after) >= 2 and all(has_face(r) for r in after), [r["faces"] for r in rows]
    assert sum(f"video source failed: camera {camera.url}" in r["errors"] for r in rows) == 1


def test_a_stopped_pulseaudio_is_one_line_and_the_camera_goes_on(pulse, speech, camera, live_runs, tmp_path):
    wav, _ = speech
    camera.face.set()
    camera.start()
    run = start_live(live_runs, tmp_path, ["--camera", camera.url, "--mic", "pulse"], duration=9, env=pulse.env)
    player = pulse.play(wav)
    lost = run.wait_until(max(4.0, run.now() + 3.0))
    pulse.stop()
    player.wait(10)
    rc, rows, stderr = run.finish()
    assert rc == 1
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("emofuse: error: microphone pulse: ") and lines[0].endswith("; going on with the camera")
    assert len(rows) == 9 and all(has_face(r) for r in rows), "the camera must go on"
    assert any(has_voice(r) for r in rows if float(r["end"]) <= lost)
    assert not any(has_voice(r) for r in rows if float(r["start"]) >= lost + SEGMENT)
    assert sum("audio source failed: microphone pulse" in r["errors"] for r in rows) == 1


def test_list_devices_names_the_pulseaudio_input(pulse):
    out = subprocess.run([sys.executable, "-m", "emofuse.cli", "live", "--list-devices"], env=pulse.env,
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    mics = lines[lines.index("microphone (audio): --mic DEVICE") + 1:]
    assert any(line.split()[0] == "pulse" for line in mics if line.startswith("  ")), out.stdout
    assert "camera (video): --camera DEVICE" in lines
