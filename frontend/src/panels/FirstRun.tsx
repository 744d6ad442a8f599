// "What you are looking at": a short first-run explanation, dismissable and remembered.
import { useState } from "react";

const KEY = "errorwave.intro.dismissed";

function remembered(): boolean {
  try {
    return window.localStorage.getItem(KEY) === "1";
  } catch {
    return false;
  }
}

export function FirstRun() {
  const [hidden, setHidden] = useState(remembered);
  if (hidden) return null;
  const dismiss = () => {
    try {
      window.localStorage.setItem(KEY, "1");
    } catch {
      /* private mode: dismissed for this page only */
    }
    setHidden(true);
  };
  return (
    <section className="ew-panel ew-intro" data-testid="first-run" aria-label="what you are looking at">
      <h2>What you are looking at</h2>
      <ul>
        <li>Each <b>card</b> is a vertex of the network; its cells are its units, printed as numbers
          (the error by default), coloured <span className="ew-key-neg">blue</span> for negative and{" "}
          <span className="ew-key-pos">red</span> for positive, with a bar for the size.</li>
        <li>Press <b>step ▶</b> (or →): the target's error travels <b>backward</b>; red edges and
          moving <span className="ew-key-pulse">pulses</span> carry it, thicker when larger.</li>
        <li>An <span className="ew-key-ring">orange ring</span> marks a vertex whose error arrived at
          this step; in the timing diagram a dot marks the arrival and a diamond plasticity.</li>
        <li>The charts compare with backprop: <b>errors vs −dL/dv</b> per vertex and{" "}
          <b>updates vs backprop</b> per layer (0 means equal).</li>
        <li>Keys: <b>E</b> runs to the next event (an error arriving, plasticity firing),{" "}
          <b>PageDown</b>/<b>PageUp</b> walk a preset's guided tour; <b>?</b> lists them all.</li>
      </ul>
      <button data-testid="first-run-dismiss" onClick={dismiss}>got it</button>
    </section>
  );
}
