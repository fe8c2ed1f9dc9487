"""Toasts reach screen readers (``CW.toast`` / ``CW.announce``, common.js). Before, the toast itself
was the live region and was ``hidden`` until its text arrived: a region that appears together with
its text is not announced by common screen readers, and errors were only "polite". Now two live
regions stay rendered (visually hidden) and the toast's sentence is written into one of them."""

from __future__ import annotations

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://toast.test"


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(locale="en-US")
    p = context.new_page()
    harness.serve_pages(p, BASE, "en-US")
    p.goto(f"{BASE}/login")
    harness.wait_js(p, "!!(window.CW && CW.toast)", timeout=10_000)
    yield p
    context.close()


def _rendered_live_regions(page) -> list[dict]:  # noqa: ANN001
    return page.evaluate("""() => Array.from(document.querySelectorAll('[role=status], [role=alert], [aria-live]'))
        .filter(n => getComputedStyle(n).display !== 'none' && !n.closest('[hidden]'))
        .map(n => ({id: n.id, role: n.getAttribute('role'), text: n.textContent}))""")


def test_live_regions_are_in_the_accessibility_tree_before_any_toast(page) -> None:
    roles = {r["role"] for r in _rendered_live_regions(page)}
    assert {"status", "alert"} <= roles, roles


def test_an_error_is_said_assertively_and_a_success_politely(page) -> None:
    page.evaluate("CW.toast('Could not save the camera', 'error')")
    harness.wait_js(page, "document.getElementById('announce-alert').textContent === 'Could not save the camera'")
    page.evaluate("CW.toast('Camera saved', 'ok')")
    harness.wait_js(page, "document.getElementById('announce-status').textContent === 'Camera saved'")
    assert page.evaluate("document.getElementById('announce-alert').textContent") == ""
    assert page.get_by_role("status").filter(has_text="Camera saved").count() == 1
    assert page.evaluate("document.getElementById('announce-alert').getAttribute('role')") == "alert"


def test_the_same_sentence_twice_is_said_twice(page) -> None:
    page.evaluate("""() => {
        window.__said = [];
        const region = document.getElementById('announce-alert');
        new MutationObserver(() => window.__said.push(region.textContent)).observe(region, {childList: true, characterData: true, subtree: true});
    }""")
    page.evaluate("CW.toast('Network error', 'error')")
    harness.wait_js(page, "window.__said.filter(t => t === 'Network error').length === 1")
    page.evaluate("CW.toast('Network error', 'error')")
    harness.wait_js(page, "window.__said.filter(t => t === 'Network error').length === 2")
    said = page.evaluate("window.__said")
    assert "" in said[said.index("Network error") :], said
