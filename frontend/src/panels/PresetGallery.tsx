// The presets gallery, from GET /api/presets: grouped by theme, each with its one-line
// description visible (not only as a tooltip).
import type { PresetInfo } from "../protocol/api";
import { openPreset } from "../state/editing";
import { useStore } from "../state/store";

// Themes in teaching order; a preset without a known group goes last.
const ORDER = ["Z-IL and its conditions", "The timing theorem", "FPA", "Standard PC and variance", "The zoo"];

type Preset = PresetInfo & { group?: string | null };

function firstSentence(text: string): string {
  const m = /^(.{20,110}?[.!?])(\s|$)/.exec(text);
  return m ? m[1] : text.length > 110 ? `${text.slice(0, 107).trimEnd()}…` : text;
}

export function groupPresets(presets: Preset[]): [string, Preset[]][] {
  const groups = new Map<string, Preset[]>();
  for (const p of presets) {
    const g = p.group || "Other";
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  const rank = (g: string) => (ORDER.includes(g) ? ORDER.indexOf(g) : ORDER.length);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]));
}

export function PresetGallery() {
  const presets = useStore((s) => s.presets) as Preset[];
  const current = useStore((s) => s.origin?.id);
  return (
    <section className="ew-panel" aria-label="presets">
      <h2>Presets</h2>
      <div className="ew-presets" data-testid="presets">
        {groupPresets(presets).map(([group, items]) => (
          <details key={group} open data-testid="preset-group">
            <summary>{group} <span className="ew-muted">({items.length})</span></summary>
            <ul>
              {items.map((p) => (
                <li key={p.id}>
                  <button data-testid={`preset-${p.id}`} onClick={() => void openPreset(p.id)} title={p.description}
                    aria-current={p.id === current}>
                    <strong>{p.title}</strong>
                    {p.rule && <span className="ew-tag">{p.rule}</span>}
                    <span className="ew-preset-desc">{firstSentence(p.description)}</span>
                  </button>
                </li>
              ))}
            </ul>
          </details>
        ))}
      </div>
    </section>
  );
}
