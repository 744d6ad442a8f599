// The presets gallery, from GET /api/presets.
import { openPreset } from "../state/editing";
import { useStore } from "../state/store";

export function PresetGallery() {
  const presets = useStore((s) => s.presets);
  return (
    <section className="ew-panel" aria-label="presets">
      <h2>Presets</h2>
      <ul className="ew-presets" data-testid="presets">
        {presets.map((p) => (
          <li key={p.id}>
            <button data-testid={`preset-${p.id}`} onClick={() => void openPreset(p.id)} title={p.description}>
              <strong>{p.title}</strong>
              {p.rule && <span className="ew-tag">{p.rule}</span>}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
