// The editable graph (React Flow). Nodes come from the configuration; the layout fills
// the canvas and the view refits on every layout change (preset, panel or presenter
// toggle, window resize, node added or removed). Numbers and colours on the cards and the
// error overlay are painted by the animator.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  applyNodeChanges, Background, Controls, ReactFlow, type Connection,
  type EdgeChange, type NodeChange, type ReactFlowInstance,
} from "@xyflow/react";
import type { Config } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { getState, setState, useStore, type State } from "../state/store";
import { animator } from "../wave/animator";
import { WaveOverlay } from "../wave/WaveOverlay";
import { connect, disconnect, edgesOf, removeNode } from "./edits";
import { defaultRoute, edgeId, freeSpot, layoutGraph } from "./layout";
import { NodeCard, type CardNode } from "./NodeCard";
import { handlesFor, RoutedEdge, type RoutedEdgeType } from "./RoutedEdge";

const nodeTypes = { card: NodeCard };
const edgeTypes = { routed: RoutedEdge };
const FIT = { padding: 0.05, maxZoom: 2.4, duration: 260 };

function subtitle(n: Config["graph"]["nodes"][number], size: number | undefined): string {
  const parts = [n.id, n.op];
  if (size) parts.push(String(size));
  if (n.op === "linear") {
    if (n.input_activation && n.input_activation !== "identity") parts.push(`W·${n.input_activation}(x)`);
    if (n.activation && n.activation !== "identity") {
      parts.push(n.activation === "leaky_relu" ? `leaky_relu(${n.negative_slope ?? 0.01})` : n.activation);
    }
  }
  return parts.join(" · ");
}

export function unitsOf(s: Pick<State, "snapshot" | "config">, id: string): number {
  const sn = s.snapshot?.graph.nodes[id];
  const n = s.config?.graph.nodes.find((x) => x.id === id);
  return Math.max(1, sn?.size ?? n?.size ?? 1);
}

/** What the layout depends on: nodes, edges and unit counts. */
function structureKey(s: State): string {
  const c = s.config;
  if (!c) return "";
  // compare mode's split cards are taller: switching it lays out afresh
  return JSON.stringify([c.graph.nodes.map((n) => [n.id, unitsOf(s, n.id)]), edgesOf(c), !!c.compare]);
}

let wrapSize = { w: 1000, h: 600 };

/** Lay everything out afresh for the current canvas (auto-layout button, preset load). */
export function relayout(): void {
  const s = getState();
  if (!s.config) return;
  const lay = layoutGraph(s.config, (id) => unitsOf(s, id), wrapSize);
  setState({ positions: lay.positions, flip: lay.flip, routes: lay.routes, positionsAuto: true });
}

export function GraphEditor() {
  const config = useStore((s) => s.config);
  const issues = useStore((s) => s.issues);
  const selected = useStore((s) => s.selected);
  const positions = useStore((s) => s.positions);
  const flip = useStore((s) => s.flip);
  const routes = useStore((s) => s.routes);
  const snapshot = useStore((s) => s.snapshot);
  const diverged = useStore((s) => s.diverged);
  const structure = useStore(structureKey);
  const unplaced = useStore((s) => Object.keys(s.positions).length === 0);
  const [nodes, setNodes] = useState<CardNode[]>([]);
  const rf = useRef<ReactFlowInstance<CardNode, RoutedEdgeType> | null>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const fitPending = useRef(true);
  const fits = useRef(0);
  // refits scheduled or gliding; `data-fit-busy` tells tests (and nothing else) the view is still moving
  const busy = useRef(0);
  const setBusy = useCallback((delta: number) => {
    busy.current = Math.max(0, busy.current + delta);
    if (wrap.current) wrap.current.dataset.fitBusy = String(busy.current);
  }, []);

  const fit = useCallback(() => {
    const inst = rf.current;
    if (!inst || !inst.getNodes().length) return;
    fitPending.current = false;
    setBusy(1);
    // no glide under prefers-reduced-motion
    void inst.fitView({ ...FIT, duration: animator.reduced ? 0 : FIT.duration }).then(() => {
      fits.current += 1;
      const el = wrap.current;
      if (el) {
        el.dataset.fits = String(fits.current);
        el.dataset.fitAt = String(performance.now());
        el.dataset.zoom = String(inst.getViewport().zoom);
      }
      setBusy(-1);
      animator.invalidate();
    });
  }, [setBusy]);

  // layout: afresh while positions are the layout's own; else only new nodes are placed
  useEffect(() => {
    const s = getState();
    if (!s.config) return;
    fitPending.current = true;
    const missing = s.config.graph.nodes.filter((n) => !s.positions[n.id]);
    if (s.positionsAuto || Object.keys(s.positions).length === 0) {
      relayout();
    } else if (missing.length) {
      const next = { ...s.positions };
      for (const n of missing) next[n.id] = freeSpot(next);
      setState({ positions: next });
    }
  }, [structure, unplaced]);

  // canvas size changes (panels, presenter, window): re-wrap the layout, then refit
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    let timer: number | undefined;
    const ro = new ResizeObserver(() => {
      if (timer === undefined) setBusy(1);
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        timer = undefined;
        setBusy(-1);
        const r = el.getBoundingClientRect();
        if (r.width < 10 || r.height < 10) return;
        if (Math.abs(r.width - wrapSize.w) < 2 && Math.abs(r.height - wrapSize.h) < 2 && !fitPending.current) return;
        wrapSize = { w: r.width, h: r.height };
        fitPending.current = true;
        if (getState().positionsAuto) relayout();
        else fit();
      }, 90);
    });
    ro.observe(el);
    const r = el.getBoundingClientRect();
    if (r.width > 10) wrapSize = { w: r.width, h: r.height };
    return () => {
      ro.disconnect();
      if (timer !== undefined) setBusy(-1);
      window.clearTimeout(timer);
    };
  }, [fit, setBusy]);

  useEffect(() => {
    if (!config) {
      setNodes([]);
      return;
    }
    const s = getState();
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return config.graph.nodes.map((n): CardNode => {
        const sn = snapshot?.graph.nodes[n.id];
        const mine = issues.filter((i) => i.node === n.id).map((i) => i.message);
        const units = unitsOf(s, n.id);
        const data = {
          nodeId: n.id,
          title: n.label || n.id,
          sub: subtitle(n, units),
          issues: mine,
          isInput: n.op === "input",
          isOutput: config.graph.output === n.id,
          distance: sn?.distance.shortest ?? null,
          diverged: diverged?.node === n.id,
          units,
          flip: flip[n.id] ?? false,
        };
        const o = old.get(n.id);
        return {
          ...(o ?? {}),
          id: n.id,
          type: "card",
          position: positions[n.id] ?? o?.position ?? { x: 0, y: 0 },
          data,
          selected: selected === n.id,
        };
      });
    });
  }, [config, issues, selected, positions, snapshot, diverged, flip]);

  // refit once the cards at their new places have been measured
  useEffect(() => {
    if (!fitPending.current || !nodes.length) return;
    setBusy(1);
    let waiting = true;
    const t = window.setTimeout(() => {
      waiting = false;
      setBusy(-1);
      fit();
    }, 40);
    return () => {
      window.clearTimeout(t);
      if (waiting) setBusy(-1);
    };
  }, [nodes, fit, setBusy]);

  const edges = useMemo<RoutedEdgeType[]>(() => {
    if (!config) return [];
    return edgesOf(config).map((e) => {
      const id = edgeId(e.source, e.target);
      const fs = flip[e.source] ?? false, ft = flip[e.target] ?? false;
      const route = routes[id] ?? defaultRoute(fs, ft);
      return { id, source: e.source, target: e.target, type: "routed", data: { route }, ...handlesFor(route, fs, ft) };
    });
  }, [config, flip, routes]);

  useEffect(() => {
    animator.setRoutes(Object.fromEntries(edges.map((e) => [e.id, e.data!.route])));
  }, [edges]);

  const onNodesChange = useCallback((changes: NodeChange<CardNode>[]) => {
    setNodes((nds) => applyNodeChanges(changes, nds));
    const cfg = getState().config;
    for (const c of changes) {
      if (c.type === "position" && c.position && !c.dragging) {
        // whole flow units, as the permalink carries them
        const at = { x: Math.round(c.position.x), y: Math.round(c.position.y) };
        setState({ positions: { ...getState().positions, [c.id]: at }, positionsAuto: false });
      } else if (c.type === "select" && c.selected) {
        setState({ selected: c.id });
      } else if (c.type === "remove" && cfg) {
        commitConfig(removeNode(getState().config ?? cfg, c.id));
        if (getState().selected === c.id) setState({ selected: null });
      }
    }
    animator.invalidate();
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange<RoutedEdgeType>[]) => {
    for (const c of changes) {
      const cfg = getState().config;
      if (c.type === "remove" && cfg) {
        const [source, target] = c.id.split("->");
        commitConfig(disconnect(cfg, source, target));
      }
    }
  }, []);

  const onConnect = useCallback((c: Connection) => {
    const cfg = getState().config;
    if (cfg && c.source && c.target) commitConfig(connect(cfg, c.source, c.target));
  }, []);

  const onInit = useCallback((inst: ReactFlowInstance<CardNode, RoutedEdgeType>) => {
    rf.current = inst;
    if (fitPending.current) window.setTimeout(fit, 40);
    animator.setGeometry({
      node(id) {
        const n = inst.getInternalNode(id);
        if (!n) return undefined;
        const p = n.internals.positionAbsolute;
        return { x: p.x, y: p.y, w: n.measured.width ?? 0, h: n.measured.height ?? 0 };
      },
      viewport: () => inst.getViewport(),
    });
  }, [fit]);

  const stale = issues.length > 0;
  return (
    <div ref={wrap} className={`ew-graph${stale ? " ew-stale" : ""}`} data-testid="graph" data-stale={stale ? "1" : "0"}>
      <ReactFlow<CardNode, RoutedEdgeType>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onInit={onInit}
        onMove={() => animator.invalidate()}
        onPaneClick={() => setState({ selected: null })}
        deleteKeyCode={["Delete"]}
        minZoom={0.05}
        maxZoom={3}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} position="bottom-right" />
        <WaveOverlay />
      </ReactFlow>
    </div>
  );
}

export function requestFit(): void {
  relayout();
}
