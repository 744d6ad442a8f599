// For the presenter: which controls to hide (in the header's "panels ▾" menu; kept in the
// link, `hc=`) and the list of keys (the "?" key or the menu's "keys" button; also in
// docs/tours.md). tour.css hides the chosen controls through `data-hide` on <html>.
import { useEffect, useState } from "react";
import { CONTROLS, setState, useStore, type ControlId } from "../state/store";
import "./tour.css";

export const KEYS: [string, string][] = [
  ["Space", "play / pause"],
  ["→  ←  (Backspace)", "one step forward / back"],
  ["Home  End", "first step / run the example to its end"],
  ["E", "next event: run to the next step where plasticity fires or an error first arrives"],
  ["Shift+E", "previous event"],
  ["S  (Escape)", "slow motion of this step: its stages one by one (Escape stops)"],
  ["S  (Esc)", "slow motion: this step's sub-steps one by one (S again: next; Esc: stop)"],
  ["PageDown  PageUp", "next / previous tour stop (a presentation clicker sends these); without a tour: next / previous event"],
  ["?", "show or hide these keys"],
  ["Ctrl+Z  Ctrl+Shift+Z", "undo / redo an edit"],
];

const TOGGLE_KEYS = "ew-keys-help";

/** The "?" key and the menu's button open or close the keys list. */
export function toggleKeysHelp(): void {
  window.dispatchEvent(new Event(TOGGLE_KEYS));
}

/** Checkboxes for the "panels ▾" menu: which controls are shown. */
export function HideControlsList() {
  const hidden = useStore((s) => s.hiddenControls);
  const toggle = (c: ControlId) =>
    setState({ hiddenControls: CONTROLS.filter((x) => (x === c) !== hidden.includes(x)) });
  return (
    <fieldset className="ew-controls-list" data-testid="controls-list">
      <legend>controls</legend>
      {CONTROLS.map((c) => (
        <label key={c}>
          <input type="checkbox" data-testid={`control-${c}`} checked={!hidden.includes(c)} onChange={() => toggle(c)} /> {c}
        </label>
      ))}
      <button data-testid="keys-help" onClick={toggleKeysHelp} title="?">keys…</button>
    </fieldset>
  );
}

/** Always mounted (in the header): applies the hidden controls and shows the keys list. */
export function PresenterChrome() {
  const hidden = useStore((s) => s.hiddenControls);
  const [keys, setKeys] = useState(false);
  useEffect(() => {
    const html = document.documentElement;
    if (hidden.length) html.dataset.hide = hidden.join(" ");
    else delete html.dataset.hide;
  }, [hidden]);
  useEffect(() => {
    const onToggle = () => setKeys((v) => !v);
    window.addEventListener(TOGGLE_KEYS, onToggle);
    return () => window.removeEventListener(TOGGLE_KEYS, onToggle);
  }, []);
  if (!keys) return null;
  return (
    <div className="ew-keys" data-testid="keys-list" role="dialog" aria-label="keys">
      <div className="ew-keys-head">
        <strong>Keys</strong>
        <button aria-label="close" data-testid="keys-close" onClick={() => setKeys(false)}>×</button>
      </div>
      <table>
        <tbody>
          {KEYS.map(([k, what]) => (
            <tr key={k}><th><kbd>{k}</kbd></th><td>{what}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
