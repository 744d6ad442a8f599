// Keyboard: space play/pause, ←/→ step, Home/End, Ctrl+Z / Ctrl+Shift+Z undo/redo.
import { useEffect } from "react";
import { redo, undo } from "../state/editing";
import { runExample, seek, stepBack, stepForward, togglePlay } from "../state/session";
import { stopped } from "../state/honest";

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
      if (stopped()) return; // the session on screen is not the configuration being edited
      switch (e.key) {
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
