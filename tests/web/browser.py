#!/usr/bin/python3
"""Open the page behind a validation mail's link in headless Chromium, as a
contact does, and optionally click one of its buttons.

  browser.py URL [--narrow] [--click accept|refuse|report]

Prints one JSON object: the page's visible text before and after the click,
the buttons seen (value and label), the window's size, whether the page is
wider than the window (a phone would scroll sideways), whether every button
fits in the window, the final URL and the page's language.  Exit 0 when the
page could be driven, 2 otherwise (the reason on stderr).
"""
import json
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def page_facts(d):
    body = d.find_element(By.TAG_NAME, "body")
    buttons = [{"value": b.get_attribute("value"), "label": b.text.strip(),
                "right": b.rect["x"] + b.rect["width"]}
               for b in d.find_elements(By.CSS_SELECTOR, "form button")]
    width = d.execute_script("return window.innerWidth")
    return {
        "text": body.text,
        "lang": d.find_element(By.TAG_NAME, "html").get_attribute("lang"),
        "buttons": [{"value": b["value"], "label": b["label"]} for b in buttons],
        "buttons_fit": all(b["right"] <= width for b in buttons),
        "overflow": d.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth"),
        "styled": d.execute_script(
            "return getComputedStyle(document.querySelector('main')).maxWidth") != "none",
        "window": [width, d.execute_script("return window.innerHeight")],
        "url": d.current_url,
    }


def replaced(el):
    """A wait condition: el's document has been replaced.  Chromium says so
    either as a stale element or, while it swaps documents, as a node that
    "does not belong to the document" (a plain WebDriverException, which
    expected_conditions.staleness_of would let through)."""
    def check(_):
        try:
            el.is_enabled()
            return False
        except WebDriverException:  # StaleElementReferenceException among them
            return True
    return check


def loaded(d):
    """A wait condition: the document shown has finished loading (asked
    again when the question lands during a swap)."""
    try:
        return d.execute_script("return document.readyState") == "complete"
    except WebDriverException:
        return False


def settled_facts(d):
    """page_facts once the page after the POST (303, then GET) is the one
    shown: a read that lands while Chromium swaps documents (a node "does
    not belong to the document") is made again."""
    for attempt in range(20):
        try:
            return page_facts(d)
        except (StaleElementReferenceException, WebDriverException):
            if attempt == 19:
                raise
            time.sleep(0.25)
            WebDriverWait(d, 30).until(loaded)


def main(argv):
    url = argv[1]
    narrow = "--narrow" in argv
    click = argv[argv.index("--click") + 1] if "--click" in argv else None
    profile = tempfile.mkdtemp(prefix="cm-chromium.")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile):
        opts.add_argument(flag)
    if narrow:
        # A phone: 390x844 CSS pixels, as an iPhone 12-15 shows them.
        opts.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": True}})
    else:
        opts.add_argument("--window-size=1280,900")
    d = None
    try:
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        d.set_page_load_timeout(30)
        d.get(url)
        out = {"before": page_facts(d)}
        if click:
            button = d.find_element(By.CSS_SELECTOR, 'form button[value="%s"]' % click)
            old = d.find_element(By.TAG_NAME, "html")
            button.click()
            WebDriverWait(d, 30).until(replaced(old))
            WebDriverWait(d, 30).until(loaded)
            out["after"] = settled_facts(d)
        print(json.dumps(out, ensure_ascii=False))
        return 0
    except Exception as e:  # the suite reports the reason
        print("browser.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    finally:
        if d:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
