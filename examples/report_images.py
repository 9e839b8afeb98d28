"""Make the README's pictures of the annotated video and the report with the project's own commands.

    python examples/report_images.py [--clip FILE] [--at SECONDS] [--out docs/img]

Without --clip it builds the three-person clip of benchmarks/clips.py (20 s, offline), then runs
`emofuse analyze CLIP --annotate ... --html ...`, takes one frame of the annotated video
(ffmpeg) and a screenshot of the report in headless Chromium (selenium; Debian's chromium and
chromium-driver), after clicking the timeline at --at seconds.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def screenshot(page: Path, target: Path, at: float, size: tuple[int, int] = (1280, 1240)) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="emofuse-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--mute-audio",
                 f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "var m = document.getElementById('media'); return m && m.readyState >= 2"))
        plots = driver.find_element("id", "plots")
        duration = driver.execute_script("return document.getElementById('media').duration")
        offset = round((at / duration - 0.5) * plots.size["width"])
        ActionChains(driver).move_to_element_with_offset(plots, offset, 0).click().perform()
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "var m = document.getElementById('media'); return !m.seeking && m.readyState >= 2"))
        ActionChains(driver).move_to_element(driver.find_element("tag name", "h1")).perform()
        time.sleep(4)  # the player's controls fade out; the frame paints
        driver.save_screenshot(str(target))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--at", type=float, default=7.3, help="the moment shown (seconds)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    import imageio_ffmpeg

    work = Path(tempfile.mkdtemp(prefix="emofuse-images-"))
    clip = args.clip
    if clip is None:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from clips import multi_person_clip

        clip = multi_person_clip(work / "three-persons.mp4", seconds=20)
    emofuse = Path(sys.executable).with_name("emofuse")
    annotated, report = work / f"{clip.stem}.annotated.mp4", work / f"{clip.stem}.html"
    subprocess.run([str(emofuse), "analyze", str(clip), "-o", str(work / f"{clip.stem}.csv"), "-q",
                    "--annotate", str(annotated), "--html", str(report)], check=True)
    args.out.mkdir(parents=True, exist_ok=True)
    frame = args.out / "annotated-frame.jpg"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-ss", str(args.at), "-i", str(annotated),
                    "-frames:v", "1", "-q:v", "3", str(frame)], check=True)
    screenshot(report, args.out / "report.png", args.at)
    print(f"wrote {frame} and {args.out / 'report.png'} (outputs in {work})")


if __name__ == "__main__":
    main()
