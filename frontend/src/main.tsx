import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { App } from "./App";
import { api } from "./protocol/api";
import { isFollower } from "./state/classroom";
import { startSession } from "./state/session";
import { setState } from "./state/store";
import { openInitialLocation } from "./state/urlSync";
import { startWaveFeed } from "./wave/feed";
import { startHonestState } from "./state/honest";

async function boot(): Promise<void> {
  startWaveFeed();
  startHonestState();
  startSession();
  try {
    const [rules, presets] = await Promise.all([api.rules(), api.presets()]);
    setState({ rules, presets });
  } catch (e) {
    setState({ notice: { kind: "error", text: `cannot load rules and presets: ${(e as Error).message}` } });
  }
  if (!isFollower()) await openInitialLocation(); // a follower shows its class's graph
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void boot();
