// One graph node: label (text only), op/size line, per-unit strip, and any validation
// message naming this node. Colours (and the strip, drawn on the overlay) come from the
// animator, not from React.
import { memo, useEffect, useRef } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { animator } from "../wave/animator";

export interface CardData extends Record<string, unknown> {
  nodeId: string;
  title: string;
  sub: string;
  issues: string[];
  isInput: boolean;
  isOutput: boolean;
  distance: number | null;
  diverged: boolean;
}

export type CardNode = Node<CardData, "card">;

function NodeCardImpl({ data, selected }: NodeProps<CardNode>) {
  const el = useRef<HTMLDivElement>(null);
  const strip = useRef<HTMLDivElement>(null);
  const { nodeId } = data;
  useEffect(() => {
    const e = el.current!;
    animator.attach(nodeId, e, strip.current);
    return () => animator.detach(nodeId, e);
  }, [nodeId]);
  const cls = ["ew-node", selected ? "ew-selected" : "", data.issues.length ? "ew-invalid" : "", data.diverged ? "ew-diverged-origin" : ""];
  return (
    <div
      ref={el}
      className={cls.join(" ")}
      data-node-id={nodeId}
      data-testid={`node-${nodeId}`}
      data-distance={data.distance ?? ""}
    >
      {!data.isInput && <Handle type="target" position={Position.Left} />}
      <div className="ew-node-title">
        <span className="ew-node-label">{data.title}</span>
        {data.isOutput && <span className="ew-tag">output</span>}
        {data.isInput && <span className="ew-tag">input</span>}
      </div>
      <div className="ew-node-sub">{data.sub}</div>
      <div ref={strip} className="ew-strip" aria-hidden="true" />
      {data.issues.map((m, i) => (
        <div key={i} className="ew-node-issue" data-testid="node-issue" role="alert">
          {m}
        </div>
      ))}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

export const NodeCard = memo(NodeCardImpl);
