// Export: the configuration as JSON and the trajectory (held frames) as CSV.
import { getState, useStore } from "../state/store";

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const cell = (x: number | null | undefined) => (x === null || x === undefined ? "" : String(x));

export function trajectoryCsv(): string {
  const { frames } = getState();
  const rows = ["example,t,node,unit,value,prediction,error"];
  for (const f of frames) {
    if (!f) continue;
    for (const [id, st] of Object.entries(f.nodes)) {
      st.value.forEach((v, k) => {
        rows.push([f.example, f.t, id, k, cell(v), cell(st.prediction[k]), cell(st.error[k])].join(","));
      });
    }
  }
  return rows.join("\n") + "\n";
}

export function ExportButtons() {
  const hasConfig = useStore((s) => s.config !== null);
  const hasFrames = useStore((s) => s.frames.length > 0);
  return (
    <>
      <button data-testid="export-json" disabled={!hasConfig}
        onClick={() => download("errorwave-config.json", "application/json", JSON.stringify(getState().config, null, 2))}>
        config JSON
      </button>
      <button data-testid="export-csv" disabled={!hasFrames}
        onClick={() => download("errorwave-trajectory.csv", "text/csv", trajectoryCsv())}>
        trajectory CSV
      </button>
    </>
  );
}
