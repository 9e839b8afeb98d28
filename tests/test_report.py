"""The HTML report: self-contained and offline, the film referenced relative to it (or embedded),
and, in a real headless Chromium, the timeline drawn, the cursor and the seeking working."""
from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import emofuse
from emofuse import plugin_manager
from emofuse.errors import EmofuseError
from emofuse.report import report_data, write_report
from emofuse.testing import sample_timeline, write_media

from .fakes import FAKE_CHOICES, Plugin


def _data(page: str) -> dict:
    text = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(text)


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    """A 4 s clip with a face that comes and goes and a voice, its timeline (fake components), and
    an audio-only file with its timeline."""
    folder = tmp_path_factory.mktemp("report")
    clip = write_media(folder / "my clip.mp4", 4.0, fps=10, size=(320, 240), face="alternate")
    voice = write_media(folder / "voice.wav", 3.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plugin_manager, "_cached", plugin_manager.collect_components(extra_plugins={"fakes": Plugin()}))
        from emofuse import api

        patch.setattr(api, "_pipelines", {})
        timeline = emofuse.analyze(clip, **FAKE_CHOICES)
        audio = emofuse.analyze(voice, **FAKE_CHOICES)
    return {"clip": clip, "timeline": timeline, "voice": voice, "audio": audio}


# --------------------------------------------------------------------------- the file


def test_lanes_segments_persons_and_settings(films):
    timeline = films["timeline"]
    data = report_data(timeline, films["clip"].parent / "r.html", films["clip"])
    assert timeline.persons, "the clip should give a person"
    assert [lane["name"] for lane in data["lanes"]] == ["face", "voice", *[p.id for p in timeline.persons], "scene"]
    assert all(len(lane["scores"]) == len(timeline.segments) == len(data["segments"]) for lane in data["lanes"])
    faces = data["lanes"][0]["scores"]
    assert [s is None for s in faces] == [seg.face is None for seg in timeline.segments]
    assert data["persons"][0]["face"].startswith("data:image/jpeg;base64,")
    assert data["settings"]["face detector"] == "center" and data["settings"]["segment"] == "1 s"
    assert data["media"] == {"kind": "video", "type": "video/mp4", "src": "my%20clip.mp4"}


def test_video_is_referenced_relative_to_the_report(films, tmp_path):
    deeper = report_data(films["timeline"], films["clip"].parent / "out" / "r.html", films["clip"])
    assert deeper["media"]["src"] == "../my%20clip.mp4"
    elsewhere = report_data(films["timeline"], tmp_path / "r.html", films["clip"])["media"]["src"]
    assert (tmp_path / elsewhere.replace("%20", " ")).resolve() == films["clip"].resolve()


def test_embed_carries_the_bytes_up_to_the_limit(films, tmp_path, monkeypatch):
    from emofuse import report

    size = films["clip"].stat().st_size
    monkeypatch.setattr(report, "EMBED_LIMIT", size)
    media = report_data(films["timeline"], tmp_path / "r.html", films["clip"], embed=True)["media"]
    assert base64.b64decode(media["data"]) == films["clip"].read_bytes() and "src" not in media
    monkeypatch.setattr(report, "EMBED_LIMIT", size - 1)
    with pytest.raises(EmofuseError, match="too big to embed"):
        report_data(films["timeline"], tmp_path / "r.html", films["clip"], embed=True)


def test_page_is_offline_and_safe_from_its_data(tmp_path):
    timeline = sample_timeline()
    timeline = type(timeline)("odd <b>name.mp4", timeline.segments, {"fusion": "</script><i>x"}, timeline.duration)
    page = write_report(timeline, tmp_path / "new" / "r.html").read_text()
    assert page.count("</script>") == 2  # the data's own and the code's: no setting can close a script
    assert "<b>name" not in page and "<title>odd &lt;b&gt;name.mp4" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    assert "@import" not in page and "url(http" not in page
    data = _data(page)
    assert data["title"] == "odd <b>name.mp4" and data["settings"]["fusion"] == "</script><i>x"
    assert data["media"] is None  # no such file: no player
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["r.html"]


def test_audio_only_gets_an_audio_player(films, tmp_path):
    data = report_data(films["audio"], tmp_path / "r.html", films["voice"])
    assert data["media"]["kind"] == "audio" and data["media"]["type"] == "audio/wav"
    assert data["persons"] == [] and data["lanes"][-1]["name"] == "fused"


# --------------------------------------------------------------------------- in a browser


def _browser_paths() -> tuple[str, str] | None:
    binary = next((b for b in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if b), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    paths = _browser_paths()
    if paths is None:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    profile = tempfile.mkdtemp(prefix="emofuse-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--mute-audio",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _load(browser, page: Path) -> list[dict]:
    """Open `page` from disk; the console's SEVERE entries while loading it."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def _wait_for_media(browser) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "var m = document.getElementById('media'); return m && (m.readyState >= 1 || m.error !== null)"))
    assert browser.execute_script("return document.getElementById('media').error") is None, "the film does not load"


def _click_at(browser, fraction: float) -> float:
    """Click the timeline at `fraction` of its width; the media's currentTime afterwards."""
    from selenium.webdriver.common.action_chains import ActionChains

    plots = browser.find_element("id", "plots")
    width = plots.size["width"]
    ActionChains(browser).move_to_element_with_offset(plots, round((fraction - 0.5) * width), 0).click().perform()
    return browser.execute_script("return document.getElementById('media').currentTime")


def _not_blank(png: bytes) -> bool:
    import cv2

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    coarse = image.reshape(-1, 3).astype(np.int32) // 16
    colours = np.unique(coarse[:, 0] * 256 + coarse[:, 1] * 16 + coarse[:, 2])
    return image.std() > 20 and len(colours) > 20


def test_report_plays_beside_its_timeline(browser, films):
    timeline = films["timeline"]
    page = write_report(timeline, films["clip"].parent / "report.html")
    assert _load(browser, page) == []
    assert len(browser.find_elements("css selector", "#lane-scene rect.seg")) == len(timeline.segments)
    assert len(browser.find_elements("css selector", "#plots svg.lane")) == len(timeline.persons) + 3
    assert len(browser.find_elements("css selector", "#gallery .card img")) == len(timeline.persons)
    assert browser.find_elements("tag name", "video")
    _wait_for_media(browser)
    assert browser.execute_script("return document.getElementById('media').duration") == pytest.approx(4.0, abs=0.2)
    duration = _data(page.read_text())["duration"]
    for fraction in (0.75, 0.3):
        assert _click_at(browser, fraction) == pytest.approx(fraction * duration, abs=0.1)
        left = browser.execute_script("return parseFloat(document.getElementById('cursor').style.left)")
        assert left == pytest.approx(100 * fraction, abs=2.5)
    assert "P1" in browser.find_element("id", "readout").text
    browser.find_element("css selector", "#gallery .card").click()  # a face seeks to where they appear
    first = timeline.persons[0].first_seen
    assert browser.execute_script("return document.getElementById('media').currentTime") == pytest.approx(first)
    assert _not_blank(browser.get_screenshot_as_png())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_audio_only_report_has_no_video_and_still_works(browser, films):
    page = write_report(films["audio"], films["voice"].parent / "voice.html")
    assert _load(browser, page) == []
    assert browser.find_elements("tag name", "video") == []
    assert len(browser.find_elements("css selector", "#lane-fused rect.seg")) == len(films["audio"].segments)
    _wait_for_media(browser)
    assert _click_at(browser, 0.5) == pytest.approx(0.5 * films["audio"].duration, abs=0.1)
    assert _not_blank(browser.get_screenshot_as_png())


def test_embedded_report_plays_without_the_file_beside_it(browser, films, tmp_path):
    page = write_report(films["timeline"], tmp_path / "alone.html", video=films["clip"], embed=True)
    assert _load(browser, page) == []
    _wait_for_media(browser)
    assert browser.execute_script("return document.getElementById('media').src").startswith("blob:")
    assert _click_at(browser, 0.5) == pytest.approx(0.5 * _data(page.read_text())["duration"], abs=0.1)
