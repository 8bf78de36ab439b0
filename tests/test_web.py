"""The web page of `seq2seq serve` in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium): type a sentence, get the translation, the n-best list and
the attention heat-map, with the Devanagari font loaded. The screenshot is kept in
test-artifacts/web-page.png.

Without a browser the test skips with a message, except where SEQ2SEQ_REQUIRE_BROWSER=1
(.ci/run installs the browser and sets it, so CI fails instead of skipping)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import BUNDLE, ROOT, ServerProcess

from seq2seq.translate import Translator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "test-artifacts"
SENTENCE = "भारत की राजधानी नई दिल्ली है ।"


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} not found: apt-get install chromium chromium-driver (.ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed: .venv/bin/pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    missing = _browser_missing()
    if missing:
        if os.environ.get("SEQ2SEQ_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("web") / "server.log")
    yield srv
    srv.stop()


def _errors(driver) -> list[str]:
    """Errors the page's scripts logged to the console (a syntax error, a failed request)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait(wait, driver, condition) -> None:
    """wait.until(condition); on a time-out, fail with what the page's console says."""
    from selenium.common.exceptions import TimeoutException

    try:
        wait.until(condition)
    except TimeoutException:
        raise AssertionError(f"the page did not get there; console: {_errors(driver)}") from None


def test_page_translates_and_draws_the_attention_map(browser, server: ServerProcess) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    translator = Translator.load(BUNDLE)
    expected = translator.translate_batch([SENTENCE])[0].best
    aligned = translator.align(SENTENCE)
    wait = WebDriverWait(browser, 60)

    browser.get(server.url + "/")
    _wait(wait, browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    assert browser.find_element(By.ID, "beam").get_attribute("value") == str(
        translator.decode.beam_size
    )
    browser.find_element(By.ID, "source").send_keys(SENTENCE)
    browser.find_element(By.ID, "translate").click()
    _wait(wait, browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr"))

    assert browser.find_element(By.CSS_SELECTOR, ".translation").text == expected
    assert browser.find_element(By.CSS_SELECTOR, ".source").text == SENTENCE
    heads = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "table.heatmap thead th")]
    assert heads[1:] == [p.replace("▁", "·") for p in aligned.src_pieces]
    rows = browser.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr")
    assert len(rows) == len(aligned.tgt_pieces)
    cells = rows[0].find_elements(By.CSS_SELECTOR, "td")
    assert len(cells) == len(aligned.src_pieces)
    assert browser.find_element(By.ID, "error").text == ""
    # The Devanagari face the server sends is loaded and used for the source text.
    assert browser.execute_async_script(
        "const done = arguments[0];"
        "document.fonts.load('16px \"IS Devanagari\"', 'भारत')"
        ".then(f => done(f.length > 0 && document.fonts.check('16px \"IS Devanagari\"', 'भारत')))"
    )

    browser.find_element(By.ID, "nbest").click()
    browser.find_element(By.ID, "translate").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "ol.nbest li"))
    items = browser.find_elements(By.CSS_SELECTOR, "ol.nbest li")
    assert len(items) == min(5, translator.decode.beam_size)
    assert not _errors(browser)
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "web-page.png"))


def test_page_shows_a_server_error(browser, server: ServerProcess) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    beam = browser.find_element(By.ID, "beam")
    browser.execute_script("arguments[0].removeAttribute('max')", beam)
    beam.clear()
    beam.send_keys("40")
    browser.find_element(By.ID, "source").send_keys(SENTENCE)
    browser.find_element(By.ID, "translate").click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "error").text)
    assert "beam: 40, must be 1 to 16" in browser.find_element(By.ID, "error").text
