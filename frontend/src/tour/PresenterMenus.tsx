// Header menus for the presenter: which controls to hide (kept in the link, `hc=`) and the
// keys (also in docs/tours.md). The hidden controls are hidden by tour.css through the
// `data-hide` attribute of <html>.
import { useEffect, useState } from "react";
import { CONTROLS, setState, useStore, type ControlId } from "../state/store";
import "./tour.css";

export const KEYS: [string, string][] = [
  ["Space", "play / pause"],
  ["→  ←  (Backspace)", "one step forward / back"],
  ["Home  End", "first step / run the example to its end"],
  ["E", "next event: run to the next step where plasticity fires or an error first arrives"],
  ["Shift+E", "previous event"],
  ["PageDown  PageUp", "next / previous tour stop (a presentation clicker sends these); without a tour: next / previous event"],
  ["?", "show or hide these keys"],
  ["Ctrl+Z  Ctrl+Shift+Z", "undo / redo an edit"],
];

export function useHiddenControls(): void {
  const hidden = useStore((s) => s.hiddenControls);
  useEffect(() => {
    const html = document.documentElement;
    if (hidden.length) html.dataset.hide = hidden.join(" ");
    else delete html.dataset.hide;
  }, [hidden]);
}

export function HideControlsMenu() {
  const hidden = useStore((s) => s.hiddenControls);
  const [open, setOpen] = useState(false);
  useHiddenControls();
  const toggle = (c: ControlId) =>
    setState({ hiddenControls: hidden.includes(c) ? hidden.filter((x) => x !== c) : CONTROLS.filter((x) => x === c || hidden.includes(x)) });
  return (
    <div className="ew-menu">
      <button data-testid="controls-menu" aria-expanded={open} onClick={() => setOpen(!open)}
        title="hide controls (kept in the link)">controls ▾</button>
      {open && (
        <div className="ew-menu-list">
          {CONTROLS.map((c) => (
            <label key={c}>
              <input type="checkbox" data-testid={`control-${c}`} checked={!hidden.includes(c)} onChange={() => toggle(c)} /> {c}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}

export function KeysHelp() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onToggle = () => setOpen((v) => !v);
    window.addEventListener("ew-keys-help", onToggle);
    return () => window.removeEventListener("ew-keys-help", onToggle);
  }, []);
  return (
    <div className="ew-menu">
      <button data-testid="keys-help" aria-expanded={open} onClick={() => setOpen(!open)} title="keys (?)">keys ?</button>
      {open && (
        <div className="ew-menu-list ew-keys" data-testid="keys-list" role="dialog" aria-label="keys">
          <table>
            <tbody>
              {KEYS.map(([k, what]) => (
                <tr key={k}><th><kbd>{k}</kbd></th><td>{what}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** The "?" key opens or closes the keys help (useKeyboard). */
export function toggleKeysHelp(): void {
  window.dispatchEvent(new Event("ew-keys-help"));
}
