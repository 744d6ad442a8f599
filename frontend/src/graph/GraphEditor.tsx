// The editable graph (React Flow). Nodes come from the configuration; the wave overlay
// and node colours are painted by the animator.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  applyNodeChanges, Background, Controls, ReactFlow, type Connection, type Edge,
  type EdgeChange, type NodeChange, type ReactFlowInstance,
} from "@xyflow/react";
import type { Config } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { getState, setState, useStore } from "../state/store";
import { animator } from "../wave/animator";
import { WaveOverlay } from "../wave/WaveOverlay";
import { connect, disconnect, edgesOf, removeNode } from "./edits";
import { completePositions } from "./layout";
import { NodeCard, type CardNode } from "./NodeCard";

const nodeTypes = { card: NodeCard };

function subtitle(n: Config["graph"]["nodes"][number], size: number | undefined): string {
  const parts = [n.id, n.op];
  if (size) parts.push(String(size));
  if (n.op === "linear") {
    if (n.input_activation && n.input_activation !== "identity") parts.push(`W·${n.input_activation}(x)`);
    if (n.activation && n.activation !== "identity") parts.push(n.activation);
  }
  return parts.join(" · ");
}

export function GraphEditor() {
  const config = useStore((s) => s.config);
  const issues = useStore((s) => s.issues);
  const selected = useStore((s) => s.selected);
  const positions = useStore((s) => s.positions);
  const snapshot = useStore((s) => s.snapshot);
  const diverged = useStore((s) => s.diverged);
  const [nodes, setNodes] = useState<CardNode[]>([]);
  const rf = useRef<ReactFlowInstance<CardNode, Edge> | null>(null);
  const fitPending = useRef(true);

  // place nodes that have no position yet
  useEffect(() => {
    if (!config) return;
    const next = completePositions(config, positions);
    if (next) {
      if (Object.keys(positions).length === 0) fitPending.current = true;
      setState({ positions: next });
    }
  }, [config, positions]);

  useEffect(() => {
    if (!config) {
      setNodes([]);
      return;
    }
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return config.graph.nodes.map((n): CardNode => {
        const sn = snapshot?.graph.nodes[n.id];
        const mine = issues.filter((i) => i.node === n.id).map((i) => i.message);
        const data = {
          nodeId: n.id,
          title: n.label || n.id,
          sub: subtitle(n, sn?.size ?? n.size ?? undefined),
          issues: mine,
          isInput: n.op === "input",
          isOutput: config.graph.output === n.id,
          distance: sn?.distance.shortest ?? null,
          diverged: diverged?.node === n.id,
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
  }, [config, issues, selected, positions, snapshot, diverged]);

  useEffect(() => {
    if (!fitPending.current || !nodes.length) return;
    const t = window.setTimeout(() => {
      if (!rf.current) return;
      fitPending.current = false;
      void rf.current.fitView({ padding: 0.12, maxZoom: 1.4 });
    }, 80);
    return () => window.clearTimeout(t);
  }, [nodes]);

  const edges = useMemo<Edge[]>(
    () => (config ? edgesOf(config).map((e) => ({ id: `${e.source}->${e.target}`, ...e })) : []),
    [config],
  );

  const onNodesChange = useCallback((changes: NodeChange<CardNode>[]) => {
    setNodes((nds) => applyNodeChanges(changes, nds));
    const cfg = getState().config;
    for (const c of changes) {
      if (c.type === "position" && c.position && !c.dragging) {
        setState({ positions: { ...getState().positions, [c.id]: c.position } });
      } else if (c.type === "select" && c.selected) {
        setState({ selected: c.id });
      } else if (c.type === "remove" && cfg) {
        commitConfig(removeNode(getState().config ?? cfg, c.id));
        if (getState().selected === c.id) setState({ selected: null });
      }
    }
    animator.invalidate();
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
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

  const onInit = useCallback((inst: ReactFlowInstance<CardNode, Edge>) => {
    rf.current = inst;
    if (fitPending.current) {
      window.setTimeout(() => {
        fitPending.current = false;
        void inst.fitView({ padding: 0.12, maxZoom: 1.4 });
      }, 80);
    }
    animator.setGeometry({
      node(id) {
        const n = inst.getInternalNode(id);
        if (!n) return undefined;
        const p = n.internals.positionAbsolute;
        return { x: p.x, y: p.y, w: n.measured.width ?? 0, h: n.measured.height ?? 0 };
      },
      viewport: () => inst.getViewport(),
    });
  }, []);

  return (
    <div className="ew-graph" data-testid="graph">
      <ReactFlow<CardNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
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
        <Controls showInteractive={false} />
        <WaveOverlay />
      </ReactFlow>
    </div>
  );
}

export function requestFit(): void {
  // re-layout resets positions; GraphEditor fits the view when they are recomputed
  setState({ positions: {} });
}
