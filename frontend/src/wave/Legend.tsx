// Colour legend and the scale controls (local / per layer / global; error / value).
import { useEffect, useState } from "react";
import { setState, useStore, type ColorBy, type ColorScale } from "../state/store";
import { animator, type ScaleInfo } from "./animator";
import { LEGEND_GRADIENT, NAN_COLOR } from "./colors";

const fmt = (x: number) => (x === 0 ? "0" : Math.abs(x) >= 100 || Math.abs(x) < 0.01 ? x.toExponential(1) : x.toPrecision(2));

export function Legend() {
  const colorScale = useStore((s) => s.colorScale);
  const colorBy = useStore((s) => s.colorBy);
  const [scale, setScale] = useState<ScaleInfo>(animator.scale);
  useEffect(() => animator.onScale(setScale), []);
  const range = colorScale === "global" ? fmt(scale.max) : colorScale === "layer" ? "layer max" : "node max";
  return (
    <div className="ew-legend" data-testid="legend">
      <label>
        cards show{" "}
        <select data-testid="color-by" value={colorBy} onChange={(e) => setState({ colorBy: e.target.value as ColorBy })}>
          <option value="error">error ε</option>
          <option value="value">value v</option>
          <option value="prediction">prediction μ</option>
        </select>
      </label>
      <label>
        scale{" "}
        <select data-testid="color-scale" value={colorScale} onChange={(e) => setState({ colorScale: e.target.value as ColorScale })}>
          <option value="global">global</option>
          <option value="layer">per layer</option>
          <option value="local">per node</option>
        </select>
      </label>
      <div className="ew-legend-bar">
        <span>−{range}</span>
        <span className="ew-legend-gradient" style={{ background: LEGEND_GRADIENT }} />
        <span>+{range}</span>
        <span className="ew-legend-nan" style={{ background: NAN_COLOR }} title="NaN or Inf" />
        <span>NaN</span>
      </div>
      <div className="ew-legend-key" data-testid="legend-key">
        <span><i className="ew-key-swatch ew-key-ring-swatch" /> error arrived now</span>
        <span><i className="ew-key-swatch ew-key-pulse-swatch" /> error moving back</span>
        <span><i className="ew-key-swatch ew-key-bar-swatch" /> |unit|</span>
      </div>
    </div>
  );
}
