"""The classroom view in real Chromium: type readable from the back row (computed font size
times the canvas zoom), refits, honest state, the two divergence views, the per-rule
equation, plasticity status, EqProp's phase and the timing diagram."""

from __future__ import annotations

import json
from typing import Any

import pytest
from browser_helpers import fragment, open_preset, snapshots, wait_loaded, wait_new_snapshot, wait_t

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
SHOTS = ["zil-mlp", "backprop-chain", "dag-skip-zil", "pc-variance-10"]
# on the laptop, the presets with the most cards or units (the smallest zoom) and the shots
LAPTOP_PRESETS = [*SHOTS, "fpa-chain-gamma1", "millidge-scalar", "zoo-dtp-spirals", "zoo-dfa-mlp4"]

MEASURE = """() => {
  const vp = document.querySelector('.react-flow__viewport');
  const zoom = new DOMMatrix(getComputedStyle(vp).transform).a;
  const px = sel => [...document.querySelectorAll(sel)]
    .map(e => parseFloat(getComputedStyle(e).fontSize) * zoom);
  const cards = [...document.querySelectorAll('[data-node-id]')];
  const units = cards.map(c => c.querySelectorAll('[data-unit]').length);
  const printed = [...document.querySelectorAll('[data-node-id] [data-unit]')].map(e => e.textContent);
  return {zoom, title: Math.min(...px('.ew-node-title')), unit: Math.min(...px('.ew-num')),
          nodes: cards.length, maxUnits: Math.max(...units), printed};
}"""


def fits(page) -> int:
    return int(page.get_by_test_id("graph").get_attribute("data-fits") or 0)


def wait_settled(page, before: int) -> None:
    """Wait for a refit after `before`, for no refit to be scheduled, and for the zoom to stop moving."""
    page.wait_for_function("""n => {
        const d = document.querySelector('[data-testid=graph]').dataset;
        return Number(d.fits || 0) > n && Number(d.fitBusy || 0) === 0; }""", arg=before, timeout=8000)
    page.wait_for_function("""() => new Promise(r => {
        const vp = document.querySelector('.react-flow__viewport');
        const z = () => new DOMMatrix(getComputedStyle(vp).transform).a;
        const a = z(); setTimeout(() => r(Math.abs(z() - a) < 1e-6), 150); })""", timeout=8000)


def load(page, preset: str) -> None:
    before = fits(page)
    open_preset(page, preset)
    wait_settled(page, before)


def new_page(browser, server_url: str, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport, base_url=server_url)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return context, pg, errors


@pytest.fixture(scope="module")
def preset_ids(api) -> list[str]:
    return [p["id"] for p in api.get("/api/presets").json()]


@pytest.mark.parametrize("mode", ["laptop", "presenter"])
def test_font_sizes_on_every_preset(browser, server_url, artifacts, preset_ids, mode):
    context, page, errors = new_page(browser, server_url, LAPTOP if mode == "laptop" else PROJECTOR)
    page.goto("/")
    wait_loaded(page)
    if mode == "presenter":
        before = fits(page)
        page.get_by_test_id("presenter").click()
        wait_settled(page, before)
    measured: dict[str, Any] = {}
    for pid in (preset_ids if mode == "presenter" else [p for p in preset_ids if p in LAPTOP_PRESETS]):
        load(page, pid)
        m = page.evaluate(MEASURE)
        measured[pid] = {k: m[k] for k in ("zoom", "title", "unit", "nodes", "maxUnits")}
        # every card prints every unit as a decimal (inputs included)
        assert m["printed"] and all(t.strip() for t in m["printed"]), (pid, m["printed"])
        if mode == "laptop":
            assert m["title"] >= 12, (pid, m)
        elif m["nodes"] <= 8 and m["maxUnits"] <= 8:
            assert m["title"] >= 28, (pid, m)
            assert m["unit"] >= 18, (pid, m)
        if pid in SHOTS:
            if mode == "laptop":  # the timing diagram is on screen without scrolling
                box = page.get_by_test_id("timing-diagram").bounding_box()
                assert box and box["height"] > 20 and box["y"] + box["height"] <= LAPTOP["height"], (pid, box)
            page.get_by_test_id("step").click()
            wait_t(page, 1)
            page.wait_for_timeout(800)  # the colour transition
            page.screenshot(path=str(artifacts / f"classroom-{pid}-{mode}.png"))
    (artifacts / f"font-sizes-{mode}.json").write_text(json.dumps(measured, indent=1))
    context.close()
    assert not errors, errors


def test_units_printed_as_decimals(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zil-mlp")
    first_unit = "id => document.querySelector(`[data-node-id=${id}] [data-unit]`)?.textContent"
    page.wait_for_function(f"() => ({first_unit})('x') === '1.00'")
    x = page.locator("[data-node-id=x] [data-unit]").all_inner_texts()
    assert x == ["1.00", "0.50"]
    page.get_by_test_id("color-by").select_option("value")
    page.wait_for_function(f"() => ({first_unit})('h1') === '0.25'")
    assert page.locator("[data-node-id=h1] [data-unit]").all_inner_texts() == ["0.25", "1.25"]


def test_refit_after_panel_and_presenter_toggle(browser, server_url):
    context, page, errors = new_page(browser, server_url, LAPTOP)
    page.goto("/")
    wait_loaded(page)
    load(page, "backprop-chain")
    for action in ("panels", "presenter"):
        before = fits(page)
        t0 = page.evaluate("() => performance.now()")
        if action == "panels":
            page.get_by_test_id("panels-menu").click()
            page.get_by_test_id("show-inspector").uncheck()
            page.get_by_test_id("show-charts").uncheck()
            page.get_by_test_id("panels-menu").click()
        else:
            page.get_by_test_id("presenter").click()
        wait_settled(page, before)
        took = float(page.get_by_test_id("graph").get_attribute("data-fit-at")) - t0
        assert took < 1000, (action, took)
        box = page.evaluate("""() => {
            const g = document.querySelector('[data-testid=graph]').getBoundingClientRect();
            const rs = [...document.querySelectorAll('[data-node-id]')].map(e => e.getBoundingClientRect());
            const l = Math.min(...rs.map(r => r.left)), r = Math.max(...rs.map(r => r.right));
            const t = Math.min(...rs.map(r => r.top)), b = Math.max(...rs.map(r => r.bottom));
            const inside = l >= g.left - 1 && r <= g.right + 1 && t >= g.top - 1 && b <= g.bottom + 1;
            return {frac: (r - l) / g.width, inside};
        }""")
        assert box["frac"] >= 0.6 and box["inside"], (action, box)
    # the pointer still rests on the pressed presenter button: it stays dark, its label white
    page.get_by_test_id("presenter").hover()
    colors = page.evaluate("""() => {
        const s = getComputedStyle(document.querySelector('[data-testid=presenter]'));
        return [s.backgroundColor, s.color]; }""")
    assert colors == ["rgb(68, 68, 68)", "rgb(255, 255, 255)"], colors
    context.close()
    assert not errors, errors


def test_invalid_edit_stops_the_session_and_a_valid_one_resumes(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zil-mlp")
    page.locator("[data-node-id=h1]").click()
    page.get_by_test_id("delete-node").click()
    page.wait_for_selector("[data-testid=graph][data-stale='1']")
    assert page.get_by_test_id("step").is_disabled()
    assert page.get_by_test_id("play").is_disabled()
    page.locator("body").press("ArrowRight")
    page.wait_for_timeout(300)
    assert page.get_by_test_id("current-t").inner_text() == "0"
    # the message is shown once, on the node it names
    issue = page.get_by_test_id("node-issue").first.inner_text().strip()
    assert issue
    assert page.evaluate("m => document.body.innerText.split(m).length - 1", issue) == 1
    # the charts and the timing diagram never show the deleted node
    assert page.get_by_test_id("readout-h1").count() == 0
    page.wait_for_function(f"() => !{TIMING_JS}.rows.includes('h1')")
    before = snapshots(page)
    page.get_by_test_id("undo").click()
    wait_new_snapshot(page, before)
    page.wait_for_selector("[data-testid=graph][data-stale='0']")
    page.get_by_test_id("step").click()
    wait_t(page, 1)


def test_rejected_setting_shows_the_value_in_force(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "pc-variance-1")
    field = page.get_by_test_id("rule-param-gamma")
    in_force = field.input_value()
    field.fill("50")
    field.press("Enter")
    page.get_by_test_id("rule-issue-gamma").wait_for()
    assert page.get_by_test_id("step").is_disabled()
    page.wait_for_function("v => document.querySelector('[data-testid=rule-param-gamma]').value === v",
                           arg=in_force)
    message = page.get_by_test_id("rule-issue-gamma").inner_text()
    assert page.locator("[data-testid=notice-text]").count() == 0, message
    before = snapshots(page)
    field.fill("0.5")
    field.press("Enter")
    wait_new_snapshot(page, before)
    page.wait_for_function("() => !document.querySelector('[data-testid=step]').disabled")
    assert page.get_by_test_id("rule-issue-gamma").count() == 0


def test_updates_view_reads_zero_for_zil_once_every_layer_fired(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zil-mlp")
    page.get_by_test_id("divergence-view").select_option("updates")
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    page.get_by_test_id("run-example").click()
    wait_t(page, steps)
    page.wait_for_selector("[data-testid=divergence-readout][data-view=updates]")
    values = page.locator("[data-testid=divergence-readout] td").evaluate_all(
        "tds => tds.map(td => Number(td.dataset.value))")
    assert len(values) == 3 and all(v < 1e-9 for v in values), values
    # the errors view is a separate, named view (its own numbers, never on the same axis)
    page.get_by_test_id("divergence-view").select_option("errors")
    page.wait_for_selector("[data-testid=divergence-readout][data-view=errors]")
    page.wait_for_function("""() => (document.querySelector('[data-testid=divergence-chart]').data || [])
        .some(d => d.name === 'all nodes')""")


def test_inspector_equation_of_the_rule_and_plasticity_status(page, api):
    rules = {r["name"]: r for r in api.get("/api/rules").json()}
    assert len({r["equation"] for r in rules.values()}) > 5  # one per rule, not one for all
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zil-mlp")
    page.locator("[data-node-id=h2]").click()
    page.get_by_test_id("plasticity-status").wait_for()
    assert page.get_by_test_id("plasticity-status").get_attribute("data-kind") == "scheduled"
    assert rules["zil"]["equation"] in page.get_by_test_id("inspector").inner_text()
    page.get_by_test_id("step").click()
    wait_t(page, 1)
    page.wait_for_selector("[data-testid=plasticity-status][data-kind=now]")
    page.get_by_test_id("step").click()
    wait_t(page, 2)
    page.wait_for_selector("[data-testid=plasticity-status][data-kind=earlier]")
    assert "fired at step 1" in page.get_by_test_id("plasticity-status").inner_text()


def test_eqprop_phase_is_named(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zoo-eqprop-beta010")
    page.get_by_test_id("step").click()
    wait_t(page, 1)
    page.wait_for_selector("[data-testid=phase]")
    assert "free" in page.get_by_test_id("phase").inner_text()
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    page.get_by_test_id("run-example").click()
    wait_t(page, steps)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=phase]')?.textContent.includes('nudged')")


TIMING_JS = "JSON.parse(document.querySelector('[data-testid=timing-diagram]').dataset.timing || '{}')"


def timing(page) -> dict[str, Any]:
    return json.loads(page.get_by_test_id("timing-diagram").get_attribute("data-timing") or "{}")


def test_timing_diagram_shades_pc_and_marks_zil_diagonal(page, api):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zil-mlp")
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    page.get_by_test_id("run-example").click()
    wait_t(page, steps)
    page.wait_for_function(f"""() => {{ const d = {TIMING_JS};
        return d.rows && Object.values(d.first).every(v => v !== null) }}""")
    data = timing(page)
    dist = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-node-id]')]
        .map(e => [e.dataset.nodeId, Number(e.dataset.distance)]))""")
    assert data["first"] == {r: dist[r] for r in data["rows"]}  # the diagonal
    assert all(data["plasticity"][r] == [dist[r]] for r in data["rows"])
    # standard PC on the 6-layer chain: the error smears, and the shades show it
    chain = api.get("/api/presets/backprop-chain").json()
    chain["rule"] = {"name": "pc", "steps": 40}
    page.goto("/" + fragment(chain))
    page.reload()
    wait_loaded(page, rule="pc")
    page.get_by_test_id("run-example").click()
    wait_t(page, 40)
    page.wait_for_function(
        f"() => {{ const d = {TIMING_JS}; return d.rows && d.shade[d.rows[0]].length === 41 }}")
    data = timing(page)
    levels = {round(v, 2) for r in data["rows"] for v in data["shade"][r] if v > 0}
    assert len(levels) >= 10, levels
    for r in data["rows"]:
        ramp = [v for v in data["shade"][r] if v > 0]
        assert len(set(ramp)) > 1, (r, ramp)


def test_presets_grouped_with_descriptions_first_run_and_modified(page, api):
    page.goto("/")
    wait_loaded(page)
    groups = page.get_by_test_id("preset-group").locator("summary").all_inner_texts()
    assert len(groups) >= 5, groups
    desc = page.locator("[data-testid=preset-zil-mlp] .ew-preset-desc")
    assert desc.is_visible() and desc.inner_text().strip()
    page.get_by_test_id("first-run").wait_for()
    page.get_by_test_id("first-run-dismiss").click()
    page.reload()
    wait_loaded(page)
    assert page.get_by_test_id("first-run").count() == 0
    open_preset(page, "zil-mlp")
    assert page.get_by_test_id("modified").count() == 0
    page.get_by_test_id("add-node").click()
    page.get_by_test_id("modified").wait_for()
    page.get_by_test_id("undo").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=modified]')")


def test_learning_chart_gets_a_point_per_example_and_the_boundary(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, "zoo-fa-xor")
    page.get_by_test_id("learn-10").click()
    # a point per example, and the engine's decision boundary redrawn with the rows
    page.wait_for_function("""() => {
        const rows = Number(document.querySelector('[data-testid=learning-panel]').dataset.rows);
        const chart = document.querySelector('[data-testid=learning-chart]');
        const view = document.querySelector('[data-testid=dataset-view]');
        if (!chart || !view || rows < 4 || chart.dataset.summary !== chart.dataset.pending) return false;
        const xs = JSON.parse(chart.dataset.summary || '[]');
        return xs.length === rows && xs.every((x, i) => x === i + 1)
            && view.dataset.summary === JSON.stringify(`after ${rows} examples`);
    }""", timeout=20_000)
    kinds = page.evaluate("() => document.querySelector('[data-testid=dataset-view]').data.map(d => d.type)")
    assert "contour" in kinds and "heatmap" in kinds


RECTS = """sel => [...document.querySelectorAll(sel)].map(e => {
    const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; })"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def test_new_node_lands_in_free_space(page):
    page.goto("/")
    wait_loaded(page)
    load(page, "dag-skip-zil")
    before = fits(page)
    page.get_by_test_id("add-node").click()
    page.locator("[data-node-id=n1]").wait_for()
    wait_settled(page, before)
    new = page.evaluate(RECTS, "[data-node-id=n1]")[0]
    others = page.evaluate(RECTS, "[data-node-id]:not([data-node-id=n1])")
    controls = page.evaluate(RECTS, ".react-flow__controls")[0]
    pane = page.evaluate(RECTS, "[data-testid=graph]")[0]
    assert not any(overlap(new, o) for o in others)
    assert not overlap(new, controls)
    assert pane["l"] <= new["l"] and new["r"] <= pane["r"] and pane["t"] <= new["t"] and new["b"] <= pane["b"]


def test_dragged_positions_travel_in_the_link(page):
    page.goto("/")
    wait_loaded(page)
    load(page, "zil-mlp")
    start = page.evaluate("() => document.querySelector('.react-flow__node[data-id=h2]').style.transform")
    card = page.locator("[data-node-id=h2] .ew-node-title")
    box = card.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 90, steps=8)
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('pos=')")
    where = "() => document.querySelector('.react-flow__node[data-id=h2]').style.transform"
    page.wait_for_function(f"() => !({where})().includes('.')")  # snapped to whole units
    moved = page.evaluate(where)
    assert moved != start
    page.reload()
    wait_loaded(page)
    page.wait_for_function(f"m => ({where})() === m", arg=moved)


def test_short_link_keeps_its_address(page, api):
    config = api.get("/api/presets/zil-mlp").json()
    link = api.post("/api/links", json={"config": config, "view": {"t": "1", "sel": "h2"}}).json()
    page.goto(f"/s/{link['id']}")
    wait_loaded(page)
    wait_t(page, 1)
    page.get_by_test_id("step").click()
    wait_t(page, 2)
    page.wait_for_timeout(400)  # the address is written 150 ms after a change
    assert page.evaluate("() => location.pathname + location.hash") == f"/s/{link['id']}"


def test_chart_ticks_are_integers_and_the_legend_stays_clear(page):
    page.goto("/")
    wait_loaded(page)
    page.get_by_test_id("presenter").click()
    open_preset(page, "fpa-chain-gamma1")
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    page.get_by_test_id("run-example").click()
    wait_t(page, steps)
    page.wait_for_function("""n => { const el = document.querySelector('[data-testid=divergence-chart]');
        return el.dataset.summary && el.dataset.summary === el.dataset.pending
            && JSON.parse(el.dataset.summary)[0].length === n }""", arg=steps + 1)
    ticks = page.locator("[data-testid=divergence-chart] .xtick text").evaluate_all(
        "ts => ts.map(t => t.textContent)")
    assert ticks and all(t.strip().isdigit() for t in ticks) and len(set(ticks)) == len(ticks), ticks
    legend = page.evaluate(RECTS, "[data-testid=divergence-chart] .legend")[0]
    title = page.evaluate(RECTS, "[data-testid=divergence-chart] .g-xtitle")[0]
    assert not overlap(legend, title)


def test_timing_ticks_stay_readable_at_2000_steps(page, api):
    chain = api.get("/api/presets/backprop-chain").json()
    chain["rule"] = {"name": "pc", "steps": 2000}
    page.goto("/" + fragment(chain))
    wait_loaded(page, rule="pc")
    page.wait_for_function("() => document.querySelector('[data-testid=timing-diagram]')?.dataset.ticks")
    ticks = json.loads(page.get_by_test_id("timing-diagram").get_attribute("data-ticks"))
    assert ticks["every"] in (100, 200, 250, 500) and ticks["gapPx"] > ticks["labelPx"] + 8, ticks
