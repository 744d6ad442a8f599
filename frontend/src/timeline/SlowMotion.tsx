// Slow motion of one step: plays the sub-steps the rule reported in the current frame
// (`frame.stages`, in the order the rule performed them), each highlighting its nodes on the
// graph with its one-line caption in large type. Nothing here knows a rule: a rule that
// declares its stages gets slow motion (docs/slow-motion.md).
// Keys: S starts, S again goes to the next stage at once, Escape stops.
import { useEffect, useLayoutEffect, useState } from "react";
import { create } from "zustand";
import type { Stage } from "../protocol/messages";
import { pause } from "../state/session";
import { getState, useStore } from "../state/store";
import "./slowMotion.css";

/** How long each stage stays on screen; a test or a presenter may set
 * localStorage["errorwave.slowMs"]. */
function dwellMs(): number {
  const v = Number(window.localStorage.getItem("errorwave.slowMs"));
  return Number.isFinite(v) && v >= 50 ? v : 2200;
}

interface Player {
  stages: Stage[];
  index: number; // the stage on screen, -1 when stopped
  t: number; // the step being played
}

const usePlayer = create<Player>()(() => ({ stages: [], index: -1, t: -1 }));
let timer: number | undefined;

function show(index: number): void {
  window.clearTimeout(timer);
  const { stages } = usePlayer.getState();
  if (index >= stages.length) {
    stop();
    return;
  }
  usePlayer.setState({ index });
  timer = window.setTimeout(() => show(index + 1), dwellMs());
}

export function startSlowMotion(): void {
  const s = getState();
  const stages = s.frames[s.t]?.stages ?? [];
  if (!stages.length) return;
  if (s.playing) pause();
  usePlayer.setState({ stages, t: s.t, index: -1 });
  show(0);
}

/** Start, or (while playing) go to the next stage now. */
export function slowMotionKey(): void {
  const { index } = usePlayer.getState();
  if (index < 0) startSlowMotion();
  else show(index + 1);
}

export function stop(): void {
  window.clearTimeout(timer);
  usePlayer.setState({ index: -1 });
}

const EDITABLE = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** The S / Escape keys, and stopping when the viewed step changes under the player. */
function useSlowMotionKeys(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || (el && (EDITABLE.has(el.tagName) || el.isContentEditable))) return;
      if (e.key === "s" || e.key === "S") {
        e.preventDefault();
        slowMotionKey();
      } else if (e.key === "Escape" && usePlayer.getState().index >= 0) {
        stop();
      }
    };
    window.addEventListener("keydown", onKey);
    const unsub = useStore.subscribe((s, prev) => {
      const p = usePlayer.getState();
      if (p.index >= 0 && (s.t !== p.t || (s.playing && !prev.playing))) stop();
    });
    return () => {
      window.removeEventListener("keydown", onKey);
      unsub();
      stop();
    };
  }, []);
}

/** The highlighted nodes: a class on the cards (they carry data-node-id), the rest dimmed.
 * Returns where the caption goes so that it never covers them: at the bottom of the canvas
 * unless the highlighted cards sit lower than its middle. */
function useHighlight(stage: Stage | undefined): "top" | "bottom" {
  const [place, setPlace] = useState<"top" | "bottom">("bottom");
  // a layout effect: the cards are lit in the same task that shows the caption
  useLayoutEffect(() => {
    if (!stage) return;
    const on = new Set(stage.nodes);
    const cards = [...document.querySelectorAll<HTMLElement>(".ew-graph-wrap [data-node-id]")];
    const lit = cards.filter((el) => on.has(el.dataset.nodeId ?? ""));
    for (const el of cards) el.classList.add(on.has(el.dataset.nodeId ?? "") ? "ew-stage-on" : "ew-stage-off");
    const wrap = document.querySelector(".ew-graph-wrap")?.getBoundingClientRect();
    if (wrap && lit.length) {
      const mid = lit.reduce((a, el) => { const r = el.getBoundingClientRect(); return a + (r.top + r.bottom) / 2; }, 0) / lit.length;
      setPlace(mid > wrap.top + wrap.height / 2 ? "top" : "bottom");
    }
    return () => {
      for (const el of cards) el.classList.remove("ew-stage-on", "ew-stage-off");
    };
  }, [stage]);
  return place;
}

export function SlowMotionButton() {
  const count = useStore((s) => s.frames[s.t]?.stages?.length ?? 0);
  const active = usePlayer((p) => p.index >= 0);
  return (
    <button className="ew-slow-button" data-testid="slow-motion" onClick={active ? stop : startSlowMotion} disabled={!count && !active}
      aria-pressed={active} title="S: play this step's sub-steps one by one (S again: next, Esc: stop)">
      {active ? "■ stop slow" : "slow ▸"}
    </button>
  );
}

/** The caption over the graph while a stage plays (and the keyboard hooks, always). */
export function StageCaption() {
  useSlowMotionKeys();
  const { stages, index, t } = usePlayer();
  const stage = index >= 0 ? stages[index] : undefined;
  const place = useHighlight(stage);
  if (!stage) return null;
  return (
    <div className={`ew-stage-caption ew-stage-${place}`} data-testid="stage-caption" data-stage-index={index}
      data-stage={stage.stage} data-t={t} role="status" aria-live="polite">
      <div className="ew-stage-head">
        step {t} · {index + 1}/{stages.length} · <strong>{stage.stage}</strong>
        <span className="ew-stage-nodes"> · {stage.nodes.join(", ")}</span>
      </div>
      <div className="ew-stage-text" data-testid="stage-text">{stage.caption}</div>
    </div>
  );
}
