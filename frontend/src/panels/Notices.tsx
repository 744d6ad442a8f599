// Messages: a broken link, a server/validation error, the NaN/Inf blow-up badge.
import { setState, useStore } from "../state/store";

export function LinkErrorNotice() {
  const linkError = useStore((s) => s.linkError);
  if (!linkError) return null;
  return (
    <div className="ew-notice ew-error" role="alert" data-testid="link-error">
      {linkError} Pick a preset to start again.
    </div>
  );
}

export function NoticeBanner() {
  const notice = useStore((s) => s.notice);
  const issues = useStore((s) => s.issues);
  if (!notice && !issues.length) return null;
  // each message once: a node's on its card, a setting's at its field, the rest here
  const general = issues.filter((i) => !i.node && !i.path.startsWith("rule."));
  const text = issues.length ? null : notice?.text;
  if (!text && !general.length) return null;
  return (
    <div className={`ew-notice ${notice?.kind === "info" && !issues.length ? "" : "ew-error"}`} role="alert" data-testid="notice">
      {text && <span data-testid="notice-text">{text}</span>}
      {general.map((i, k) => <div key={k} data-testid="notice-issue">{i.path ? `${i.path}: ` : ""}{i.message}</div>)}
      <button aria-label="dismiss" onClick={() => setState({ notice: null })}>×</button>
    </div>
  );
}

export function DivergedBadge() {
  const diverged = useStore((s) => s.diverged);
  if (!diverged) return null;
  return (
    <div className="ew-badge ew-error" role="alert" data-testid="diverged-badge">
      <strong>{diverged.kind === "unstable" ? "Runaway (unstable)" : "Blow-up (NaN/Inf)"}</strong> at step {diverged.t}
      {diverged.node ? <> starting at node <code data-testid="diverged-node">{diverged.node}</code></> : null}
      {diverged.detail ? <div className="ew-muted">{diverged.detail}</div> : null}
      <div className="ew-muted">Paused. Reset or change a setting to go on.</div>
    </div>
  );
}
