"""Open a report page in a real headless browser (Chromium, from the system's package
manager) and read back what a reader would see: script errors, every heading, whether each
image loaded, whether the page fits the window's width, and whether a sortable table sorts.

The page is copied next to itself with a probe script added: the first script in <head>
records every uncaught error, and after the load event the probe writes its findings as JSON
into the DOM, which `--dump-dom` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

#: the window a reader opens the page in (the page is laid out for 1400 px)
WINDOW = (1400, 900)

ERROR_TRAP = """<script>window.__pageErrors = [];
window.addEventListener('error', function (e) { window.__pageErrors.push(String(e.message)); });
</script>"""

#: after load: the findings; the first sortable table is sorted by its third column
#: (clicked twice: descending, then ascending) and that column's cells are read before and after
PROBE = """<script>window.addEventListener('load', function () {
  var table = document.querySelector('table.sortable');
  var column = function () {
    return Array.from(table.tBodies[0].rows).map(function (r) {
      return r.children[2].textContent;
    });
  };
  var before = table ? column() : [];
  if (table) {
    table.tHead.rows[0].children[2].click();
    table.tHead.rows[0].children[2].click();
  }
  var report = {
    errors: window.__pageErrors,
    headings: Array.from(document.querySelectorAll('h2')).map(function (h) {
      return h.textContent;
    }),
    images: Array.from(document.images).map(function (i) {
      var loaded = i.complete && i.naturalWidth > 0;
      return [i.getAttribute('src'), loaded, i.getBoundingClientRect().width];
    }),
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    sortedBefore: before,
    sortedAfter: table ? column() : [],
  };
  var out = document.createElement('pre');
  out.id = 'page-probe';
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
});</script>"""


def chromium() -> str | None:
    """The headless browser's executable, or None where none is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def probe_page(page: Path) -> dict[str, Any]:
    """What a reader's browser shows of `page` (see the module docstring)."""
    browser = chromium()
    assert browser is not None, "no Chromium installed"
    text = page.read_text()
    probed = page.with_name(f".probe.{page.name}")
    probed.write_text(
        text.replace("<head>", "<head>" + ERROR_TRAP, 1).replace("</body>", PROBE + "</body>", 1)
    )
    try:
        result = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probed.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        probed.unlink()
    found = re.search(r'<pre id="page-probe">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the page never finished loading: {result.stderr[-2000:]}"
    return json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
