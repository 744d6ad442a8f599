// One graph node: label, op/size line, one cell per unit (its number as text and a
// magnitude bar), and any validation message naming this node. The numbers, colours and
// bars are written by the animator, not by React, so a step re-renders nothing here.
import { memo, useEffect, useRef } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { animator } from "../wave/animator";
import { cellColumns, LARGE_CELLS, MAX_CELLS } from "./layout";
import { CompareHalf } from "../compare/CompareHalf";

export interface CardData extends Record<string, unknown> {
  nodeId: string;
  title: string;
  sub: string;
  issues: string[];
  isInput: boolean;
  isOutput: boolean;
  distance: number | null;
  diverged: boolean;
  units: number;
  flip: boolean;
}

export type CardNode = Node<CardData, "card">;

// Every card has handles on both sides and on top; the layout picks which an edge uses.
// Only the handles of the card's own direction are visible (for connecting by drag).
function Handles({ flip, isInput }: { flip: boolean; isInput: boolean }) {
  const inSide = flip ? Position.Right : Position.Left;
  const outSide = flip ? Position.Left : Position.Right;
  return (
    <>
      {!isInput && <Handle id="in" type="target" position={inSide} />}
      <Handle id="out" type="source" position={outSide} />
      {!isInput && <Handle id="in-alt" type="target" position={outSide} className="ew-handle-hidden" />}
      <Handle id="out-alt" type="source" position={inSide} className="ew-handle-hidden" />
      {!isInput && <Handle id="in-top" type="target" position={Position.Top} className="ew-handle-hidden" style={{ left: "35%" }} />}
      <Handle id="out-top" type="source" position={Position.Top} className="ew-handle-hidden" style={{ left: "65%" }} />
    </>
  );
}

function NodeCardImpl({ data, selected }: NodeProps<CardNode>) {
  const el = useRef<HTMLDivElement>(null);
  const { nodeId, units } = data;
  useEffect(() => {
    const e = el.current!;
    animator.attach(nodeId, e);
    return () => animator.detach(nodeId, e);
  }, [nodeId]);
  const shown = Math.min(units, MAX_CELLS);
  const dense = units > LARGE_CELLS;
  const cls = ["ew-node", selected ? "ew-selected" : "", data.issues.length ? "ew-invalid" : "", data.diverged ? "ew-diverged-origin" : ""];
  return (
    <div
      ref={el}
      className={cls.join(" ")}
      data-node-id={nodeId}
      data-testid={`node-${nodeId}`}
      data-distance={data.distance ?? ""}
    >
      <Handles flip={data.flip} isInput={data.isInput} />
      <div className="ew-node-title">
        <span className="ew-node-label">{data.title}</span>
        {data.isOutput && <span className="ew-tag">output</span>}
        {data.isInput && <span className="ew-tag">input</span>}
      </div>
      <div className="ew-node-sub">{data.sub}</div>
      <div
        className={`ew-cells${dense ? " ew-dense" : ""}`}
        style={{ gridTemplateColumns: `repeat(${cellColumns(units)}, minmax(0, 1fr))` }}
      >
        {Array.from({ length: shown }, (_, k) => (
          <div key={k} className="ew-cell" data-unit={k}>
            <span className="ew-bar" />
            <span className="ew-num" />
          </div>
        ))}
      </div>
      {units > MAX_CELLS && <div className="ew-more">first {MAX_CELLS} of {units} units</div>}
      <CompareHalf nodeId={nodeId} units={units} isInput={data.isInput} />
      {data.issues.map((m, i) => (
        <div key={i} className="ew-node-issue" data-testid="node-issue" role="alert">
          {m}
        </div>
      ))}
    </div>
  );
}

export const NodeCard = memo(NodeCardImpl);
