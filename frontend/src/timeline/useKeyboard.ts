// Keyboard: space play/pause, ←/→ step, Home/End, Ctrl+Z / Ctrl+Shift+Z undo/redo; for the
// presenter E / Shift+E next / previous event, PageDown / PageUp the tour's stops (a clicker
// sends these; without a tour they step events), ? the keys (src/tour/PresenterMenus.tsx).
import { useEffect } from "react";
import { redo, undo } from "../state/editing";
import { runExample, seek, stepBack, stepForward, togglePlay } from "../state/session";
import { stopped } from "../state/honest";
import { getState } from "../state/store";
import { isFollower } from "../state/classroom";
import { cancelHunt, nextEvent, previousEvent } from "../tour/events";
import { toggleKeysHelp } from "../tour/PresenterMenus";
import { nextStop, previousStop, tourOf } from "../tour/tour";

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

export function useKeyboard(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e.target)) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
        return;
      }
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "y") {
        e.preventDefault();
        redo();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "?") {
        toggleKeysHelp();
        return;
      }
      if (stopped()) return; // the session on screen is not the configuration being edited
      cancelHunt(); // any key ends a run to the next event
      const tour = tourOf(getState()).length > 0 && !isFollower();
      switch (e.key) {
        case "PageDown":
          e.preventDefault();
          if (tour) nextStop();
          else nextEvent();
          break;
        case "PageUp":
          e.preventDefault();
          if (tour) previousStop();
          else previousEvent();
          break;
        case "e":
          e.preventDefault();
          nextEvent();
          break;
        case "E":
          e.preventDefault();
          previousEvent();
          break;
        case " ":
          e.preventDefault();
          if ((e.target as HTMLElement | null)?.tagName === "BUTTON") (e.target as HTMLElement).blur();
          togglePlay();
          break;
        case "ArrowRight":
          e.preventDefault();
          stepForward();
          break;
        case "ArrowLeft":
        case "Backspace":
          e.preventDefault();
          stepBack();
          break;
        case "Home":
          e.preventDefault();
          seek(0);
          break;
        case "End":
          e.preventDefault();
          runExample();
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
