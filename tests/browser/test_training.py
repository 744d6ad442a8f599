"""Training from the page: settings in the rule panel survive a permalink reload; a run
draws its curves and decision boundary and the progress bar reaches the end."""

from __future__ import annotations

import pytest
from browser_helpers import fragment, wait_loaded

from errorwave.training.configs import mlp

pytestmark = pytest.mark.browser

CONFIG = mlp("circles", [16], {"name": "fpa", "steps": 3, "gamma": 1.0, "lr": 0.1}, samples=200,
             training={"epochs": 2, "batch_size": 16})


def _settings(page) -> dict:
    return {k: page.get_by_test_id(f"train-{k}").input_value()
            for k in ("epochs", "batch_size", "optimiser", "lr")}


def _set(page, name: str, value: str) -> None:
    field = page.get_by_test_id(f"train-{name}")
    field.fill(value)
    field.press("Enter")


def test_settings_survive_a_permalink_reload_and_a_run_draws_its_curves(browser, server_url, artifacts):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/" + fragment(CONFIG))
    wait_loaded(page, rule="fpa")
    assert _settings(page) == {"epochs": "2", "batch_size": "16", "optimiser": "sgd", "lr": ""}
    _set(page, "epochs", "12")
    _set(page, "batch_size", "32")
    page.get_by_test_id("train-optimiser").select_option("momentum")
    _set(page, "lr", "0.2")
    # the link carries them: open it in a fresh page
    page.wait_for_timeout(600)  # the address follows the store after a short debounce
    link = page.url
    fresh = context.new_page()
    fresh.on("pageerror", lambda e: errors.append(str(e)))
    fresh.goto(link)
    wait_loaded(fresh, rule="fpa")
    want = {"epochs": "12", "batch_size": "32", "optimiser": "momentum", "lr": "0.2"}
    assert _settings(fresh) == want
    page.close()

    fresh.get_by_test_id("train-start").click()
    progress = fresh.get_by_test_id("train-progress")
    fresh.wait_for_selector("[data-testid=train-progress][data-state=done]", timeout=10_000)
    assert progress.get_attribute("data-examples") == progress.get_attribute("data-total") == str(12 * 160)
    assert "examples/s" in progress.inner_text()
    # 12 epochs of 160 in batches of 32: 60 rows, 12 epoch rows, drawn
    fresh.wait_for_function(
        "() => document.querySelector('[data-testid=training-chart]')?.dataset.summary?.endsWith(',60,12]')",
        timeout=10_000)
    curves = fresh.evaluate("""() => [...document.querySelector('[data-testid=training-chart]').data]
        .map(t => [t.name, t.y.filter(v => v !== null).length])""")
    assert dict(curves)["fpa loss"] == 60 and dict(curves)["backprop loss"] == 60
    assert dict(curves)["distance to backprop"] == 60 and dict(curves)["backprop test accuracy"] == 12
    fresh.wait_for_function("() => document.querySelector('[data-testid=dataset-view]')?.dataset.summary"
                            "?.includes('after 1920 training examples')", timeout=10_000)
    fresh.get_by_test_id("training-chart").scroll_into_view_if_needed()
    fresh.screenshot(path=str(artifacts / "training-1366x768.png"))
    fresh.get_by_test_id("learning-panel").screenshot(path=str(artifacts / "training-curves-1366x768.png"))
    fresh.get_by_test_id("dataset-view").scroll_into_view_if_needed()
    fresh.get_by_test_id("dataset-view").screenshot(path=str(artifacts / "training-boundary-1366x768.png"))

    fresh.set_viewport_size({"width": 1920, "height": 1080})
    fresh.get_by_test_id("presenter").click()
    fresh.get_by_test_id("train-start").click()
    fresh.wait_for_selector("[data-testid=train-progress][data-run='2'][data-state=done]", timeout=10_000)
    fresh.wait_for_timeout(1200)  # the charts redraw at the presenter's scale
    fresh.get_by_test_id("training-controls").scroll_into_view_if_needed()
    fresh.screenshot(path=str(artifacts / "training-1920x1080-presenter.png"))
    fresh.get_by_test_id("learning-panel").screenshot(
        path=str(artifacts / "training-curves-1920x1080-presenter.png"))
    context.close()
    assert not errors, errors
