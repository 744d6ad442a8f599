// Page layout: presets + rule (left), graph + transport + timing (centre),
// inspector + charts (right). Panels can be hidden (saved in the link).
import { useEffect } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { GraphEditor } from "./graph/GraphEditor";
import { GraphToolbar } from "./graph/GraphToolbar";
import { Charts } from "./panels/Charts";
import { Header } from "./panels/Header";
import { Inspector } from "./panels/Inspector";
import { DivergedBadge, LinkErrorNotice, NoticeBanner } from "./panels/Notices";
import { PresetGallery } from "./panels/PresetGallery";
import { RulePanel } from "./panels/RulePanel";
import { useStore, type PanelId } from "./state/store";
import { Scrubber } from "./timeline/Scrubber";
import { TimingDiagram } from "./timeline/TimingDiagram";
import { Transport } from "./timeline/Transport";
import { useKeyboard } from "./timeline/useKeyboard";
import { Legend } from "./wave/Legend";

export function App() {
  useKeyboard();
  const hidden = useStore((s) => s.hidden);
  const presenter = useStore((s) => s.presenter);
  const shown = (p: PanelId) => !hidden.includes(p);
  // test hooks: what the server has loaded and how many frames the client holds
  const revision = useStore((s) => s.snapshot?.revision ?? "");
  const rule = useStore((s) => s.snapshot?.rule.name ?? "");
  const held = useStore((s) => s.frames.length);
  const snapshots = useStore((s) => s.snapshots);
  useEffect(() => {
    document.documentElement.classList.toggle("ew-presenter", presenter);
  }, [presenter]);
  const left = shown("presets") || shown("rule");
  const right = shown("inspector") || shown("charts");
  return (
    <div
      className={`ew-app ${left ? "" : "ew-no-left"} ${right ? "" : "ew-no-right"}`}
      data-testid="app"
      data-revision={revision}
      data-rule={rule}
      data-held={held}
      data-snapshots={snapshots}
    >
      <Header />
      {left && (
        <aside className="ew-left">
          {shown("presets") && <PresetGallery />}
          {shown("rule") && <RulePanel />}
        </aside>
      )}
      <main className="ew-center">
        <LinkErrorNotice />
        <NoticeBanner />
        <div className="ew-graph-bar">
          {shown("editor") && <GraphToolbar />}
          <Legend />
        </div>
        <div className="ew-graph-wrap">
          <ReactFlowProvider>
            <GraphEditor />
          </ReactFlowProvider>
          <DivergedBadge />
        </div>
        <Transport />
        <Scrubber />
        {shown("timing") && <TimingDiagram />}
      </main>
      {right && (
        <aside className="ew-right">
          {shown("inspector") && <Inspector showEditor={shown("editor")} />}
          {shown("charts") && <Charts />}
        </aside>
      )}
    </div>
  );
}
