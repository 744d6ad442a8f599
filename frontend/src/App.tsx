// Page layout: presets + rule (left), graph + transport + timing (centre),
// inspector + charts (right). Panels can be hidden (saved in the link).
import { useEffect, useRef } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { GraphEditor } from "./graph/GraphEditor";
import { GraphToolbar } from "./graph/GraphToolbar";
import { Charts } from "./panels/Charts";
import { CompareLegend, ComparePanel } from "./compare/ComparePanel";
import { ClassShare, FollowBanner } from "./panels/ClassPanel";
import { FirstRun } from "./panels/FirstRun";
import { LearningPanel } from "./panels/Learning";
import { Header } from "./panels/Header";
import { Inspector } from "./panels/Inspector";
import { DivergedBadge, LinkErrorNotice, NoticeBanner } from "./panels/Notices";
import { PresetGallery } from "./panels/PresetGallery";
import { RulePanel } from "./panels/RulePanel";
import { useStore, type PanelId, type State } from "./state/store";
import { Scrubber } from "./timeline/Scrubber";
import { TimingDiagram } from "./timeline/TimingDiagram";
import { StageCaption } from "./timeline/SlowMotion";
import { Transport } from "./timeline/Transport";
import { TourBar } from "./tour/TourBar";
import { useKeyboard } from "./timeline/useKeyboard";
import { Legend } from "./wave/Legend";

export function App() {
  useKeyboard();
  const hidden = useStore((s) => s.hidden);
  const presenter = useStore((s) => s.presenter);
  const shown = (p: PanelId) => !hidden.includes(p);
  const root = useTestHooks();
  useEffect(() => {
    document.documentElement.classList.toggle("ew-presenter", presenter);
  }, [presenter]);
  const left = shown("presets") || shown("rule");
  const right = shown("inspector") || shown("charts");
  return (
    <div
      className={`ew-app ${left ? "" : "ew-no-left"} ${right ? "" : "ew-no-right"}`}
      data-testid="app"
      ref={root}
    >
      <Header />
      {left && (
        <aside className="ew-left">
          {shown("presets") && <PresetGallery />}
          {shown("rule") && <RulePanel />}
          {shown("rule") && <ComparePanel />}
        </aside>
      )}
      <main className="ew-center">
        <LinkErrorNotice />
        <NoticeBanner />
        <FollowBanner />
        <ClassShare />
        <TourBar />
        <div className="ew-graph-bar">
          {shown("editor") && <GraphToolbar />}
          <Legend />
          <CompareLegend />
        </div>
        <div className="ew-graph-wrap">
          <ReactFlowProvider>
            <GraphEditor />
          </ReactFlowProvider>
          <DivergedBadge />
          <StageCaption />
        </div>
        <Transport />
        <Scrubber />
        {shown("timing") && <TimingDiagram />}
      </main>
      {right && (
        <aside className="ew-right">
          <FirstRun />
          {shown("inspector") && <Inspector showEditor={shown("editor")} />}
          {shown("charts") && <Charts />}
          {shown("charts") && <LearningPanel />}
        </aside>
      )}
    </div>
  );
}

/** Test hooks on the root element (what the server loaded, how many frames the client
 * holds), written outside React rendering so that frames do not re-render the page. */
function useTestHooks() {
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const write = (s: State) => {
      const el = root.current;
      if (!el) return;
      el.dataset.revision = String(s.snapshot?.revision ?? "");
      el.dataset.rule = s.snapshot?.rule.name ?? "";
      el.dataset.held = String(s.frames.length);
      let whole = 0; // steps held on every side (compare mode: both), for the gap checks
      for (let k = 0; k < s.frames.length; k++) if (s.frames[k] && (!s.snapshotB || s.framesB[k])) whole++;
      el.dataset.whole = String(whole);
      el.dataset.snapshots = String(s.snapshots);
    };
    write(useStore.getState());
    return useStore.subscribe(write);
  }, []);
  return root;
}
