"""The headless Chromium that loads previews is kept between loads (a launch costs about
a second of CPU), but every page gets a fresh context: nothing one page stores is seen
by the next, even on the same origin."""

from __future__ import annotations

from executors.preview import load_in_chromium, serve_page

# Reads what an earlier page on this origin left, then leaves something itself.
PAGE = """<!doctype html><body><script>
document.body.textContent =
  "storage=" + localStorage.getItem("left") + " cookie=" + (document.cookie || "none");
localStorage.setItem("left", "yes");
document.cookie = "left=yes";
</script></body>"""


def test_each_load_starts_from_a_clean_browser_context() -> None:
    with serve_page(PAGE) as url:
        first = load_in_chromium(url, timeout_s=20, screenshot=None)
        second = load_in_chromium(url, timeout_s=20, screenshot=None)
    assert first.status == "ok", first
    assert first.text == "storage=null cookie=none"
    assert second.text == "storage=null cookie=none"  # not "storage=yes cookie=left=yes"
