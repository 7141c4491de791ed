"""axe-core (vendored under tests/browser/vendor/axe-core/) run in the page open in the
browser: ``axe_serious(browser)`` lists the serious and critical violations, each with
the rule, what it asks and the elements at fault, so a failing test says what to fix."""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA plus axe's best practices (landmarks, one h1, ...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_run(browser) -> list[dict]:
    """Every violation axe finds in the current page: {id, impact, help, nodes}."""
    if not browser.execute_script("return typeof window.axe !== 'undefined'"):
        browser.execute_script(_source())
    # Colours mid-transition (a hover fading under the resting pointer) are not the page's.
    browser.execute_script(
        "const s = document.createElement('style');"
        " s.textContent = '*, *::before, *::after { transition: none !important;"
        " animation: none !important; }';"
        " document.head.appendChild(s);"
    )
    browser.set_script_timeout(60)
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},
                           resultTypes: ['violations']})
          .then(r => done(r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))
          .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),
                             nodes: []}]));
        """,
        TAGS,
    )
    return list(result)


def axe_serious(browser) -> list[str]:
    """The serious and critical violations of the current page, one readable line each."""
    return [
        f"{v['impact']} {v['id']}: {v['help']} -> " + " | ".join(v["nodes"][:5])
        for v in axe_run(browser)
        if v["impact"] in BLOCKING
    ]
