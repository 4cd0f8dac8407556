"""A headless Chromium driven by Selenium, for the viewer's browser test and its README screenshot.

Uses the system's ``chromium`` and ``chromedriver`` (Debian: ``apt-get install chromium chromium-driver``); never a
browser downloaded by a tool. WebGL (viser draws the scene with three.js) works headless only through
SwiftShader, Chromium's software rasteriser (docs/BROWSER_TESTING.md in the shared docs).
"""
from __future__ import annotations

import shutil
import time
from typing import Callable

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                  "--disable-dev-shm-usage", "--hide-scrollbars")
"""Flags that give headless Chromium a working WebGL in a container without a GPU."""


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) executables on PATH, or None when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def open_chromium(url: str, width: int = 1000, height: int = 700):
    """A Selenium WebDriver of a headless system Chromium, window ``width``×``height`` CSS pixels, at ``url``."""
    # deferred: selenium is needed only when a browser is opened (tests, screenshots)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    chromium, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + (f"--window-size={width},{height}",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.get(url)
    return driver


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
