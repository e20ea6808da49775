#!/usr/bin/python3
"""Pictures of the mails, as a person would look at them.

    screenshots.py shoot DIR   a PNG of each DIR/*.html at phone (390 px) and
                               desktop (1024 px) widths: NAME-390.png and
                               NAME-1024.png, the whole height of the mail;
                               a line "wider NAME WIDTH SCROLLWIDTH" for each
                               page that does not fit its width
    screenshots.py check DIR   for each PNG in DIR: "NAME COLOURS INK" where
                               COLOURS is how many distinct colours it holds
                               and INK the share of pixels that are not the
                               page's most common colour (per thousand)

Debian's chromium and chromium-driver, headless, through selenium; no
network: the mails must need none (no external images or fonts)."""
import glob
import os
import struct
import sys
import zlib

WIDTHS = (390, 1024)
CHROME_FLAGS = ("--no-sandbox", "--headless=new", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync")


def shoot(directory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for f in CHROME_FLAGS:
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)
    n = 0
    try:
        for path in sorted(glob.glob(os.path.join(directory, "*.html"))):
            name = os.path.splitext(os.path.basename(path))[0]
            if name == "index":
                continue
            for width in WIDTHS:
                metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                driver.get("file://" + os.path.abspath(path))
                height = driver.execute_script(
                    "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
                wide = driver.execute_script("return document.documentElement.scrollWidth")
                if int(wide) > width:
                    print("wider %s %d %d" % (name, width, int(wide)))
                metrics["height"] = max(200, min(int(height), 8000))
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                out = os.path.join(directory, "%s-%d.png" % (name, width))
                if not driver.save_screenshot(out):
                    sys.exit("no screenshot of " + path)
                n += 1
    finally:
        driver.quit()
    print("%d screenshots in %s" % (n, directory))


def png_pixels(path):
    """The rows of an 8-bit non-interlaced RGB or RGBA PNG (what Chromium
    writes), as tuples of pixels."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unexpected PNG format")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, bpp


def check(directory):
    for path in sorted(glob.glob(os.path.join(directory, "*.png"))):
        rows, bpp = png_pixels(path)
        counts = {}
        for row in rows[::2]:
            for i in range(0, len(row), bpp * 2):
                px = row[i:i + 3]
                counts[px] = counts.get(px, 0) + 1
        total = sum(counts.values())
        ink = 1000 * (total - max(counts.values())) // total
        print("%s %d %d" % (os.path.basename(path), len(counts), ink))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("shoot", "check"):
        sys.exit(__doc__)
    (shoot if sys.argv[1] == "shoot" else check)(sys.argv[2])
