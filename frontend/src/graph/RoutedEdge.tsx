// The grey structure of an edge, on the path the layout chose (the animator draws the
// error on top of it along the same path, from graph/routes.ts).
import { memo } from "react";
import { BaseEdge, useInternalNode, type Edge, type EdgeProps } from "@xyflow/react";
import { geometry, svgPath, type Box, type Route, type Side } from "./routes";

export type RoutedEdgeType = Edge<{ route: Route }, "routed">;

function box(n: ReturnType<typeof useInternalNode>): Box | null {
  if (!n) return null;
  const p = n.internals.positionAbsolute;
  return { x: p.x, y: p.y, w: n.measured.width ?? 0, h: n.measured.height ?? 0 };
}

function RoutedEdgeImpl({ id, source, target, data, markerEnd, style }: EdgeProps<RoutedEdgeType>) {
  const s = box(useInternalNode(source));
  const t = box(useInternalNode(target));
  if (!s || !t || !data) return null;
  return <BaseEdge id={id} path={svgPath(geometry(s, t, data.route))} markerEnd={markerEnd} style={style} />;
}

export const RoutedEdge = memo(RoutedEdgeImpl);

/** The handle ids (see NodeCard) for a route, given each end's band direction. */
export function handlesFor(route: Route, flipSource: boolean, flipTarget: boolean): { sourceHandle: string; targetHandle: string } {
  const outSide = (flip: boolean): Side => (flip ? "left" : "right");
  const inSide = (flip: boolean): Side => (flip ? "right" : "left");
  const sourceHandle = route.from === "top" ? "out-top" : route.from === outSide(flipSource) ? "out" : "out-alt";
  const targetHandle = route.to === "top" ? "in-top" : route.to === inSide(flipTarget) ? "in" : "in-alt";
  return { sourceHandle, targetHandle };
}
