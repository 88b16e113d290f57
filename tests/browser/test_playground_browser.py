"""Browser tests: the playground on a real (untrained) model in a real JupyterLab."""

from __future__ import annotations

import uuid

import pytest

from .lab import (
    cell_count,
    cell_errors,
    open_notebook,
    run_all_cells,
    run_code,
    run_json,
    screenshot,
    wait_for_widget,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_playground_streams_shows_probabilities_and_attention(page, lab_server):
    path = lab_server.copy_notebook("playground.ipynb", uuid.uuid4().hex[:8])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    assert cell_errors(page) == []
    pg = wait_for_widget(page, ".sdl-playground-root")
    pg.evaluate("el => el.scrollIntoView({block: 'start'})")

    # the prompt's next-token probabilities (top 10) and attention heatmap, from Python
    bars = pg.locator(".sdl-prob")
    bars.nth(9).wait_for(timeout=30_000)
    assert bars.count() == 10
    expected = run_json(page, "[p['id'] for p in sd.next_token_probs(model, tok, 'the quick', k=10)]")
    shown = [int(i) for i in bars.evaluate_all("els => els.map(e => e.dataset.tokenId)")]
    assert shown == expected
    heat = pg.locator(".sdl-heatmap-canvas")
    heat.wait_for()
    assert heat.get_attribute("data-tokens") == str(len("the quick"))
    assert heat.bounding_box()["width"] > 100
    # the canvas holds a drawing (not blank)
    painted = heat.evaluate(
        """el => { const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 1000
    pg.locator('select[data-control="layer"]').select_option("1")
    pg.locator('select[data-control="head"]').select_option("3")
    assert heat.get_attribute("data-layer") == "1" and heat.get_attribute("data-head") == "3"

    # typing changes the prompt: after a pause, the panels follow (and typing adds no cells)
    n = cell_count(page)
    prompt = pg.locator("textarea")
    prompt.fill("hello world")
    page.wait_for_function(
        "() => document.querySelector('.sdl-heatmap-canvas')?.dataset.tokens === '11'", timeout=20_000
    )
    assert run_json(page, "pg.prompt") == "hello world"
    screenshot(page, "playground-inside", locator=pg)

    # generate: the text streams in (several updates while running), then Generate is enabled again
    pg.locator('[data-action="generate"]').click()
    page.wait_for_function("() => document.querySelector('.sdl-playground')?.dataset.running === 'true'")
    lengths = page.evaluate(
        """() => new Promise(resolve => { const seen = [];
              const tick = () => { const el = document.querySelector('.sdl-playground');
                  seen.push((el.querySelector('.sdl-output-text')?.textContent || '').length);
                  if (el.dataset.running === 'false' || seen.length > 600) resolve(seen); else setTimeout(tick, 20); };
              tick(); })"""
    )
    streamed = sorted(set(lengths))
    assert len(streamed) >= 3, lengths  # seen growing, not only at the end
    page.wait_for_function("() => document.querySelector('.sdl-playground')?.dataset.running === 'false'")
    out = pg.locator(".sdl-output-text").inner_text()
    assert len(out) == 600 and out == run_json(page, "pg.output")
    assert pg.locator('[data-action="generate"]').is_enabled()
    assert cell_count(page) == n + 2  # only the two run_json cells above: typing added none
    screenshot(page, "playground-generated", locator=pg)

    # a character the char tokenizer does not know: one sentence in the widget, no traceback
    prompt.fill("héllo")
    err = pg.locator("[data-inspect-error]")
    err.wait_for(timeout=20_000)
    assert "'é'" in err.inner_text() and "Traceback" not in pg.inner_text()
    pg.locator('[data-action="generate"]').click()
    pg.locator(".sdl-playground-error").wait_for(timeout=20_000)
    assert "'é'" in pg.locator(".sdl-playground-error").inner_text()
    prompt.fill("")
    pg.locator('[data-action="generate"]').click()
    page.wait_for_function(
        "() => (document.querySelector('.sdl-playground-error')?.textContent || '').includes('prompt is empty')",
        timeout=20_000,
    )
    screenshot(page, "playground-errors", locator=pg)

    # the sampling settings: a value typed in the form reaches Python, a value out of Python's bounds is refused in
    # the form with the bound, and a value Python sets shows in the form
    temperature = pg.locator('.sdl-field[data-field="temperature"] input')
    assert temperature.input_value() == "0.8"
    temperature.fill("1.5")
    temperature.press("Enter")
    wait_until(lambda: run_json(page, "pg.settings['temperature']") == 1.5, message="the typed temperature in Python")
    temperature.fill("-1")
    temperature.press("Enter")
    refused = pg.locator('.sdl-field[data-field="temperature"] .sdl-field-error')
    refused.wait_for(timeout=10_000)
    assert refused.inner_text() == "must be at least 0" and run_json(page, "pg.settings['temperature']") == 1.5
    run_code(page, "pg.settings = {**pg.settings, 'temperature': 0.3}")
    wait_until(lambda: temperature.input_value() == "0.3", message="the temperature Python set, in the form")
    assert refused.count() == 0  # the refused text belonged to the old value
    assert page.sdl_errors == []
