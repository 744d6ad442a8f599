// Keeps the URL fragment and the store in step: reads links (fragment or /s/{id}),
// writes non-default state back, follows back/forward and hand edits of the fragment.
import { api, type PresetInfo, type StoredLink } from "../protocol/api";
import type { Config, Issue } from "../protocol/config";
import {
  decodeLink, encodeLink, LinkError, readViewParams, SHORT_LINK_THRESHOLD, shortLinkId,
  viewParams, type LinkState, type LinkView,
} from "./permalink";
import { commitConfig, openPreset, type CommitOptions } from "./editing";
import { getState, setState, useStore, type State } from "./store";
import { seek } from "./session";
import { goToStop } from "../tour/tour";

const DEFAULT_PRESET_HINTS = ["fpa-chain-gamma1", "chain"];

export function linkStateOf(s: State): LinkState {
  return {
    config: s.config, t: s.t, selected: s.selected, colorScale: s.colorScale,
    colorBy: s.colorBy, presenter: s.presenter, hidden: s.hidden,
    positions: s.positionsAuto ? null : s.positions,
    tourStop: s.tourStop, hiddenControls: s.hiddenControls,
  };
}

/** Card positions from a link: the dragged ones it carries, else a fresh auto-layout. */
function placed(view: LinkView): Pick<State, "positions" | "positionsAuto"> {
  return view.positions && Object.keys(view.positions).length
    ? { positions: view.positions, positionsAuto: false }
    : { positions: {}, positionsAuto: true };
}

function pickDefaultPreset(presets: PresetInfo[]): string | undefined {
  for (const hint of DEFAULT_PRESET_HINTS) {
    const p = presets.find((x) => x.id === hint) ?? presets.find((x) => x.id.includes(hint));
    if (p) return p.id;
  }
  return presets[0]?.id;
}

/** What the link keeper needs from the page: the store, the server, the session, the
 * address bar and a clock (injected so that tests drive it with fakes). */
export interface UrlSyncDeps {
  getState: () => State;
  setState: (patch: Partial<State>) => void;
  subscribe: (listener: (s: State) => void) => void;
  validate: (config: Config) => Promise<Issue[]>;
  fetchLink: (id: string) => Promise<StoredLink>;
  createLink: (link: StoredLink) => Promise<{ id: string }>;
  commitConfig: (config: Config, opts: CommitOptions) => void;
  openPreset: (id: string) => Promise<void>;
  seek: (t: number) => void;
  goToStop: (k: number, at: { t: number; selected: string | null }, afterLoad: boolean) => void;
  location: () => { pathname: string; hash: string; origin: string };
  writeUrl: (url: string, push: boolean) => void;
  onNavigate: (listener: () => void) => void;
  copy: (text: string) => Promise<void>;
  /** `fn` may return the promise of its work (tests await it; the page ignores it). */
  setTimer: (fn: () => unknown, ms: number) => number;
  clearTimer: (id: number | undefined) => void;
}

export class UrlSync {
  private lastHash = "";
  private applying = false;
  private writeTimer: number | undefined;
  private pendingPush = false;
  // The configuration a short link (/s/<id>) opened: while it is unchanged the address stays
  // the short link (moving in time or selecting does not turn it into the long one).
  private shortConfig: string | null = null;

  constructor(private deps: UrlSyncDeps) {}

  /** Called once at start-up, after the rule and preset catalogues arrived. */
  async openInitialLocation(): Promise<void> {
    const { deps } = this;
    const { pathname, hash } = deps.location();
    const id = shortLinkId(pathname);
    if (id && !hash) {
      await this.applyShortLink(id);
    } else if (!(await this.applyFragment(hash))) {
      const preset = pickDefaultPreset(deps.getState().presets);
      if (preset) await deps.openPreset(preset);
    }
    this.startWriting();
    deps.onNavigate(() => this.navigated());
  }

  /** Build a link to exactly what is on screen; a short link when it is long. */
  async share(): Promise<string> {
    const { deps } = this;
    const s = deps.getState();
    const state = linkStateOf(s);
    const origin = deps.location().origin;
    const full = `${origin}/#${await encodeLink(state)}`;
    let url = full;
    if (full.length > SHORT_LINK_THRESHOLD && s.config) {
      const { id } = await deps.createLink({ config: s.config, view: viewParams(state) });
      url = `${origin}/s/${id}`;
    }
    deps.setState({ shareUrl: url });
    try {
      await deps.copy(url);
    } catch {
      /* clipboard may be unavailable; the URL is shown in the page */
    }
    return url;
  }

  // ----- reading links ------------------------------------------------------------------
  private applyView(view: LinkView): void {
    this.deps.setState({
      selected: view.selected, colorScale: view.colorScale, colorBy: view.colorBy,
      presenter: view.presenter, hidden: view.hidden, hiddenControls: view.hiddenControls,
      ...(view.tourStop === null ? { tourStop: null } : {}),
    });
  }

  /** Move to the link's step: at its tour stop (example, compare mode) when it names one. */
  private seekView(view: LinkView, afterLoad = false): void {
    if (view.tourStop !== null) this.deps.goToStop(view.tourStop, { t: view.t, selected: view.selected }, afterLoad);
    else if (!afterLoad) this.deps.seek(view.t);
  }

  private showLinkError(message: string): void {
    this.deps.setState({
      linkError: `This link could not be opened: ${message}.`,
      config: null, snapshot: null, frames: [], issues: [], selected: null, positions: {},
    });
  }

  /** Validate a configuration read from a link on the server, then load it at step t. */
  private async openLinkConfig(config: Config, view: LinkView): Promise<void> {
    const { deps } = this;
    let issues;
    try {
      issues = await deps.validate(config);
    } catch (e) {
      this.showLinkError((e as Error).message);
      return;
    }
    if (issues.length) {
      this.showLinkError(`its configuration is invalid (${issues[0].message})`);
      return;
    }
    this.applyView(view);
    deps.setState({ linkError: null, ...placed(view) });
    const s = deps.getState();
    if (s.config && JSON.stringify(s.config) === JSON.stringify(config) && s.snapshot) {
      this.seekView(view); // same graph: just move in time
      return;
    }
    deps.commitConfig(config, { history: false, immediate: true, seekTo: view.t });
    this.seekView(view, true);
  }

  private async applyFragment(hash: string): Promise<boolean> {
    this.applying = true;
    try {
      const link = await decodeLink(hash);
      if (!link) return false;
      if (!link.config) {
        this.applyView(link);
        if (link.positions) this.deps.setState(placed(link));
        this.seekView(link);
        return true;
      }
      await this.openLinkConfig(link.config, link);
      return true;
    } catch (e) {
      this.showLinkError(e instanceof LinkError ? e.message : "it is damaged");
      return true;
    } finally {
      this.lastHash = hash.replace(/^#/, "");
      this.applying = false;
    }
  }

  private async applyShortLink(id: string): Promise<void> {
    this.applying = true;
    try {
      const link = await this.deps.fetchLink(id);
      if (!link || typeof link.config !== "object" || link.config === null) throw new LinkError("it is empty");
      const view = readViewParams((link.view ?? {}) as Record<string, unknown>);
      this.shortConfig = JSON.stringify(link.config);
      await this.openLinkConfig(link.config, view);
    } catch (e) {
      this.showLinkError(e instanceof LinkError ? e.message : `short link '${id}' was not found`);
    } finally {
      this.applying = false;
    }
  }

  /** Back/forward, or a hand edit of the address. */
  private navigated(): void {
    const { pathname, hash: raw } = this.deps.location();
    const hash = raw.replace(/^#/, "");
    if (hash === this.lastHash) return;
    const id = shortLinkId(pathname);
    if (!hash && id) void this.applyShortLink(id);
    else void this.applyFragment(hash);
  }

  // ----- writing the address ------------------------------------------------------------
  private startWriting(): void {
    const { deps } = this;
    let prev = linkStateOf(deps.getState());
    deps.subscribe((s) => {
      const cur = linkStateOf(s);
      const changed = (Object.keys(cur) as (keyof LinkState)[]).some((k) => cur[k] !== prev[k]);
      if (!changed) return;
      const configChanged = cur.config !== prev.config;
      prev = cur;
      if (this.applying || !cur.config) return;
      deps.clearTimer(this.writeTimer);
      this.writeTimer = deps.setTimer(() => this.writeHash(configChanged), s.playing ? 1000 : 150);
    });
  }

  /** A configuration change is a new history entry; moving in time or selecting is not. */
  private async writeHash(push: boolean): Promise<void> {
    const { deps } = this;
    this.pendingPush ||= push;
    if (this.shortConfig !== null && shortLinkId(deps.location().pathname)) {
      if (JSON.stringify(deps.getState().config) === this.shortConfig) return;
      this.shortConfig = null; // edited: from here on the address is the long link
    }
    const hash = await encodeLink(linkStateOf(deps.getState()));
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    deps.writeUrl(`/#${hash}`, this.pendingPush);
    this.pendingPush = false;
  }
}

const sync = new UrlSync({
  getState, setState,
  subscribe: (listener) => void useStore.subscribe(listener),
  validate: (config) => api.validate(config),
  fetchLink: (id) => api.link(id),
  createLink: (link) => api.createLink(link),
  commitConfig, openPreset, seek, goToStop,
  location: () => ({ pathname: window.location.pathname, hash: window.location.hash, origin: window.location.origin }),
  writeUrl: (url, push) => (push ? window.history.pushState(null, "", url) : window.history.replaceState(null, "", url)),
  onNavigate: (listener) => {
    window.addEventListener("popstate", listener);
    window.addEventListener("hashchange", listener);
  },
  copy: async (text) => {
    await navigator.clipboard?.writeText(text);
  },
  setTimer: (fn, ms) => window.setTimeout(fn, ms),
  clearTimer: (id) => window.clearTimeout(id),
});

export const openInitialLocation = (): Promise<void> => sync.openInitialLocation();
export const share = (): Promise<string> => sync.share();
