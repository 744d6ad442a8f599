// Top bar: title, connection, share, presenter mode, which panels are shown.
import { useState } from "react";
import { share } from "../state/urlSync";
import { ExportButtons } from "./Export";
import { modified, PANELS, setState, useStore, type PanelId } from "../state/store";
import { HideControlsList, PresenterChrome } from "../tour/PresenterMenus";

export function Header() {
  const title = useStore((s) => s.config?.title ?? "");
  const changed = useStore(modified);
  const status = useStore((s) => s.status);
  const presenter = useStore((s) => s.presenter);
  const hidden = useStore((s) => s.hidden);
  const shareUrl = useStore((s) => s.shareUrl);
  const [busy, setBusy] = useState(false);
  const [menu, setMenu] = useState(false);

  const onShare = async () => {
    setBusy(true);
    try {
      await share();
    } catch (e) {
      setState({ notice: { kind: "error", text: `could not make a link: ${(e as Error).message}` } });
    } finally {
      setBusy(false);
    }
  };
  const toggle = (p: PanelId) =>
    setState({ hidden: hidden.includes(p) ? hidden.filter((x) => x !== p) : [...hidden, p] });

  return (
    <header className="ew-header">
      <h1>Errorwave</h1>
      <span className="ew-title" data-testid="config-title">{title}</span>
      {changed && <span className="ew-modified" data-testid="modified" title="the graph or rule differs from the preset">modified</span>}
      <span className={`ew-status ew-status-${status}`} data-testid="connection" title="server connection">
        {status}
      </span>
      <div className="ew-header-actions">
        <ExportButtons />
        <button data-testid="share" onClick={() => void onShare()} disabled={busy}>share link</button>
        <button data-testid="presenter" aria-pressed={presenter} onClick={() => setState({ presenter: !presenter })}>
          {presenter ? "exit presenter" : "presenter"}
        </button>
        <div className="ew-menu">
          <button data-testid="panels-menu" aria-expanded={menu} onClick={() => setMenu(!menu)}>panels ▾</button>
          {menu && (
            <div className="ew-menu-list">
              {PANELS.map((p) => (
                <label key={p}>
                  <input type="checkbox" data-testid={`show-${p}`} checked={!hidden.includes(p)} onChange={() => toggle(p)} /> {p}
                </label>
              ))}
              <HideControlsList />
            </div>
          )}
        </div>
      </div>
      {shareUrl && (
        <div className="ew-share">
          <input data-testid="share-url" readOnly value={shareUrl} onFocus={(e) => e.target.select()} aria-label="link to this view" />
          <button aria-label="close" onClick={() => setState({ shareUrl: null })}>×</button>
        </div>
      )}
      <PresenterChrome />
    </header>
  );
}
