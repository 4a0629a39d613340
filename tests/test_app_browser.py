"""`actrep app` in a real browser: the page served by the command, driven in Debian's headless Chromium
through selenium and /usr/bin/chromedriver (nothing downloads a browser of its own).

One video: upload a synthetic clip, count it, and find `actrep count`'s count on the page with the
timeline image loaded. Several videos: two clips and a broken file; the table has every row, the broken
one failed with its reason, and the CSV download says the same. Count without a video: a message says
what to do. The page asks nothing of any host but the app's, and stopping the app removes its
temporary folder. Screenshots of each screen go to the test's folder and, with
ACTREP_APP_SCREENSHOTS=DIR, to DIR (how docs/images/app_*.png were made).

Every wait is for a condition on the page, with minutes to spare: a loaded 2-core machine is slow, not
wrong. `make test` installs Chromium (scripts/install_browser.sh); without it the test is skipped, or
fails where ACTREP_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from actrep.cli import main

pytestmark = pytest.mark.slow
WAIT = 600  # seconds for anything the app does; the conditions, not the clock, end the waits
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _need_browser() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    reason = "Debian's chromium and chromium-driver are not installed (scripts/install_browser.sh, run by make test)"
    if os.environ.get("ACTREP_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from actrep.synth import SynthConfig, sample_spec, write_video

    folder = tmp_path_factory.mktemp("browser_clips")
    for i, (count, seconds) in enumerate([(7, 12.0), (5, 10.0)]):
        config = SynthConfig(fps=8.0, size="160x120", duration=seconds, min_count=count, max_count=count,
                             preset="easy", families=["arm_curl"])
        write_video(sample_spec(11, config, index=i, split="test"), folder / f"curls{i}.mp4")
    (folder / "broken.mp4").write_bytes(b"this is not a video" * 100)
    return folder


@pytest.fixture(scope="module")
def app():
    """`actrep app` on a free port, as a user starts it; yields (url, temporary folder, process)."""
    _need_browser()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "actrep", "app", "--port", str(port)], stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    seen, url, workdir, deadline = [], None, None, time.monotonic() + WAIT
    while url is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, "actrep app exited:\n" + "".join(seen)
            assert time.monotonic() < deadline, "actrep app did not start:\n" + "".join(seen)
            continue
        seen.append(line)
        if found := re.search(r"kept in (\S+) until", line):
            workdir = Path(found.group(1))
        if found := re.search(r"actrep app: open (\S+)", line):
            url = found.group(1)
    assert url.startswith(f"http://127.0.0.1:{port}")  # local only by default
    yield url, workdir, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=WAIT)


@pytest.fixture(scope="module")
def browser(app, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 "--window-size=1280,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request the page makes
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def wait_for(driver, condition, what: str):
    """Until `condition` holds; an error message on the page ends the wait at once, with that message."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def done(d):
        toasts = [t.text for t in d.find_elements(By.CSS_SELECTOR, "[data-testid='toast-body']") if t.text.strip()]
        assert not toasts, f"the page says, while waiting for {what}: {toasts}"
        return condition(d)

    return WebDriverWait(driver, WAIT, poll_frequency=0.5).until(done, message=f"waiting for {what}")


def screenshot(driver, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / name))
    if target := os.environ.get("ACTREP_APP_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / name, Path(target) / name)


def cli_counts(paths, capsys) -> dict[str, dict]:
    main(["count", *map(str, paths), "--json", "--quiet", "--no_timeline"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {Path(r["video"]).name: r for r in records}


def test_the_page_counts_one_video_and_a_folder_like_actrep_count(app, browser, clips, tmp_path, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, workdir, process = app
    expected = cli_counts(sorted(clips.iterdir()), capsys)
    css = browser.find_element
    browser.get(url)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#video_in input[type=file]"), "the page")
    screenshot(browser, tmp_path, "app_start.png")

    # One video: upload, name the action, count.
    css(By.CSS_SELECTOR, "#video_in input[type=file]").send_keys(str(clips / "curls0.mp4"))
    wait_for(browser, lambda d: d.execute_script("const v = document.querySelector('#video_in video');"
                                                 "return v && v.src.includes('curls0.mp4')"), "the upload")
    css(By.CSS_SELECTOR, "#action textarea, #action input").send_keys("arm curl")
    css(By.ID, "count_one").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "headline").text.strip(), "the count")
    headline = css(By.ID, "headline").text
    assert headline.startswith(f"{expected['curls0.mp4']['count']} repetitions of arm curl"), headline
    wait_for(browser, lambda d: d.execute_script("const i = document.querySelector('#timeline img');"
                                                 "return i && i.complete && i.naturalWidth > 600 && i.src"),
             "the timeline image")
    assert "curls0.timeline.png" in browser.execute_script("return document.querySelector('#timeline img').src")
    wait_for(browser, lambda d: d.execute_script("const v = document.querySelector('#annotated video');"
                                                 "return v && v.src.includes('annotated.mp4')"), "the annotated clip")
    rows = browser.execute_script("return document.querySelectorAll('#intervals div[role=row][data-index]').length")
    assert rows == len(expected["curls0.mp4"]["intervals"])
    screenshot(browser, tmp_path, "app_one_video.png")

    # Several videos, one of them broken.
    css(By.ID, "tab_many-button").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#videos_in input[type=file]"), "the folder screen")
    names = ["curls0.mp4", "broken.mp4", "curls1.mp4"]
    css(By.CSS_SELECTOR, "#videos_in input[type=file]").send_keys("\n".join(str(clips / n) for n in names))
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#videos_in a[href*='gradio_api/file=']")) == 3,
             "the uploads")
    css(By.ID, "count_many").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "summary").text.startswith("Done"), "the folder run")
    assert css(By.ID, "summary").text == "Done: 3 of 3 videos counted, 1 failed"
    table = browser.execute_script(
        "return [...document.querySelectorAll('#table div[role=row][data-index]')]"
        ".map(row => [...row.querySelectorAll('[role=gridcell]')].map(cell => cell.innerText.trim()))")
    by_name = {row[0]: row for row in table}
    assert sorted(by_name) == sorted(names)
    for name in ("curls0.mp4", "curls1.mp4"):
        assert by_name[name][1:3] == [str(expected[name]["count"]), expected[name]["status"]]
    assert by_name["broken.mp4"][1:3] == ["failed", "failed"] and "not a readable video" in by_name["broken.mp4"][-1]
    csv_url = browser.execute_script("return document.querySelector(\"#csv_out a[href*='counts.csv']\").href")
    with urllib.request.urlopen(csv_url, timeout=WAIT) as response:
        exported = {row["video"]: row for row in csv.DictReader(io.StringIO(response.read().decode()))}
    assert exported["broken.mp4"]["status"] == "failed" and exported["curls1.mp4"]["count"] == str(expected["curls1.mp4"]["count"])
    screenshot(browser, tmp_path, "app_several_videos.png")

    # Nothing but the app was asked for anything (fonts and scripts included).
    requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                 for entry in browser.get_log("performance")
                 if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"]
    web = [u for u in requested if u.startswith(("http:", "https:", "ws:", "wss:"))]
    assert web and all(u.split("/")[2] == url.split("/")[2] for u in web), sorted(set(web))

    # Count without a video: the page says what to do (and the server carries on).
    browser.get(url)
    wait_for(browser, lambda d: d.find_elements(By.ID, "count_one"), "the page")
    css(By.ID, "count_one").click()
    WebDriverWait(browser, WAIT, poll_frequency=0.5).until(
        lambda d: "Upload one video" in " ".join(t.text for t in d.find_elements(By.CSS_SELECTOR, "[data-testid='toast-body']")),
        message="waiting for the message about the missing video")

    # Stopping the app (SIGTERM, as a service manager does) removes the uploads.
    assert any(workdir.rglob("curls0.mp4"))
    process.terminate()
    assert process.wait(timeout=WAIT) == 0
    assert not workdir.exists()
