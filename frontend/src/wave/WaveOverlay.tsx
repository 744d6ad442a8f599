// The canvas the animator draws edge pulses on, sized to the graph pane.
import { useEffect, useRef } from "react";
import { animator } from "./animator";

export function WaveOverlay() {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    animator.setCanvas(canvas);
    const parent = canvas.parentElement!;
    const ro = new ResizeObserver(() => {
      const r = parent.getBoundingClientRect();
      animator.resize(r.width, r.height, window.devicePixelRatio || 1);
    });
    ro.observe(parent);
    return () => {
      ro.disconnect();
      animator.setCanvas(null);
    };
  }, []);
  return <canvas ref={ref} className="ew-wave-overlay" data-testid="wave-overlay" aria-hidden="true" />;
}
