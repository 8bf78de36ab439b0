"""The web page of `seq2seq serve` in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium), as a person uses it: pick languages, type and see the
translation come, swap, copy, share the link, open "More" for the n-best list and the attention
map; then axe-core (tests/vendor/axe-core) checks it at 1280 and 375 px wide, light and dark.
Screenshots of the four go to test-artifacts/ (and, copied, to docs/ for the README).

Without a browser the test skips with a message, except where SEQ2SEQ_REQUIRE_BROWSER=1
(.ci/run installs the browser and sets it, so CI fails instead of skipping)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import BUNDLE, ROOT, ServerProcess

from seq2seq.decode.translate import Translator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "test-artifacts"
SENTENCE = "भारत की राजधानी नई दिल्ली है ।"
BENGALI = "আমি চা ভালোবাসি।"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
# The four views axe checks and the screenshots show: (name, width, height, colour scheme).
VIEWS = [
    ("1280-light", 1280, 900, "light"),
    ("1280-dark", 1280, 900, "dark"),
    ("375-light", 375, 812, "light"),
    ("375-dark", 375, 812, "dark"),
]


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
        "--window-size=1280,900",
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
    # The fixture model (hi->en) and the stored Bengali models, both ways.
    srv = ServerProcess(
        tmp_path_factory.mktemp("web") / "server.log", "--model", "bn-en", "--model", "en-bn"
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """What the page must show: the Python API's translations."""
    hi_en = Translator.load(BUNDLE)
    bn_en = Translator.load("bn-en")
    english = bn_en.translate(BENGALI)
    return {
        SENTENCE: hi_en.translate(SENTENCE),
        BENGALI: english,
        english: Translator.load("en-bn").translate(english),
    }


def _errors(driver) -> list[str]:
    """Errors the page's scripts logged to the console (a syntax error, a failed request)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait(driver, condition, seconds: float = 60) -> None:
    """Wait until condition(driver); on a time-out, fail with what the page's console says."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, seconds).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"the page did not get there; error: {_text(driver, 'error')!r}; "
            f"console: {_errors(driver)}"
        ) from None


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def _open(driver, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#src option")) > 1)


def _choose(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def _type(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "source")
    box.clear()
    box.send_keys(text)


def test_translate_as_you_type_swap_copy_share(browser, server, expected) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, server.url + "/")
    assert _text(browser, "count") == "0 / 2000"
    _choose(browser, "src", "hi")
    assert browser.find_element(By.ID, "tgt").get_attribute("value") == "en"
    _type(browser, SENTENCE)  # no button: the page translates once typing pauses
    _wait(browser, lambda d: _text(d, "output") == expected[SENTENCE])
    assert _text(browser, "model-name") == "model: bundle-v1"
    assert _text(browser, "count") == f"{len(SENTENCE)} / 2000"
    assert browser.find_element(By.ID, "swap").get_attribute("disabled")  # no en->hi here
    assert "source=hi&target=en&q=" in browser.current_url

    # Bengali to English, then swapped: English to Bengali from the translation.
    _choose(browser, "src", "bn")
    _type(browser, BENGALI)
    _wait(browser, lambda d: _text(d, "output") == expected[BENGALI])
    assert browser.find_element(By.ID, "swap").get_attribute("disabled") is None
    browser.find_element(By.ID, "swap").click()
    assert browser.find_element(By.ID, "src").get_attribute("value") == "en"
    assert browser.find_element(By.ID, "tgt").get_attribute("value") == "bn"
    assert browser.find_element(By.ID, "source").get_attribute("value") == expected[BENGALI]
    _wait(browser, lambda d: _text(d, "output") == expected[expected[BENGALI]])
    browser.find_element(By.ID, "copy").click()
    _wait(browser, lambda d: _text(d, "status") == "Copied", 10)

    # The link opens the same translation; "auto" names the language it found.
    shared = browser.current_url
    _open(browser, shared)
    _wait(browser, lambda d: _text(d, "output") == expected[expected[BENGALI]])
    _open(browser, server.url + "/?source=auto&target=en&q=" + SENTENCE)
    _wait(browser, lambda d: _text(d, "output") == expected[SENTENCE])
    assert _text(browser, "detected") == "Detected: Hindi"
    assert not _errors(browser)


def test_more_shows_nbest_and_attention_map(browser, server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    translator = Translator.load(BUNDLE)
    aligned = translator.align(SENTENCE)
    _open(browser, server.url + "/?source=hi&target=en")
    browser.find_element(By.CSS_SELECTOR, "#more summary").click()
    browser.find_element(By.ID, "nbest").click()
    box = browser.find_element(By.ID, "source")
    box.send_keys(SENTENCE)
    box.send_keys(Keys.CONTROL, Keys.ENTER)  # at once
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr"))
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ol.nbest li"))
    items = browser.find_elements(By.CSS_SELECTOR, "ol.nbest li")
    assert len(items) == min(5, translator.decode.beam_size)
    heads = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "table.heatmap thead th")]
    assert heads == [p.replace("▁", "·") for p in aligned.src_pieces]
    rows = browser.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr")
    assert len(rows) == len(aligned.tgt_pieces)
    # The Devanagari face the server sends is loaded and used for the source text.
    assert browser.execute_async_script(
        "const done = arguments[0];"
        "const face = '16px \"IS Devanagari\"';"
        "document.fonts.load(face, 'भारत')"
        ".then(f => done(f.length > 0 && document.fonts.check(face, 'भारत')))"
    )
    assert not _errors(browser)


def _view(driver, width: int, height: int, scheme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


@pytest.mark.parametrize("name,width,height,scheme", VIEWS)
def test_axe_finds_nothing_serious(browser, server, name, width, height, scheme) -> None:
    from selenium.webdriver.common.by import By

    _view(browser, width, height, scheme)
    try:
        _open(browser, server.url + "/?source=bn&target=en&q=" + BENGALI)
        _wait(browser, lambda d: _text(d, "output"))
        browser.find_element(By.CSS_SELECTOR, "#more summary").click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table.heatmap"))
        browser.execute_script(AXE.read_text(encoding="utf-8"))
        violations = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
            "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))));"
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, serious
        ARTIFACTS.mkdir(exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(ARTIFACTS / f"web-page-{name}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_page_shows_a_server_error(browser, server: ServerProcess) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, server.url + "/?source=hi&target=en")
    browser.find_element(By.CSS_SELECTOR, "#more summary").click()
    beam = browser.find_element(By.ID, "beam")
    browser.execute_script("arguments[0].removeAttribute('max')", beam)
    beam.clear()
    beam.send_keys("40")
    _type(browser, SENTENCE)
    _wait(browser, lambda d: _text(d, "error"))
    assert "beam: 40, must be 1 to 16" in _text(browser, "error")
