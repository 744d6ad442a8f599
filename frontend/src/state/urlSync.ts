// Keeps the URL fragment and the store in step: reads links (fragment or /s/{id}),
// writes non-default state back, follows back/forward and hand edits of the fragment.
import { api, type PresetInfo } from "../protocol/api";
import type { Config } from "../protocol/config";
import {
  decodeLink, encodeLink, LinkError, readViewParams, SHORT_LINK_THRESHOLD, shortLinkId,
  viewParams, type LinkState, type LinkView,
} from "./permalink";
import { commitConfig, openPreset } from "./editing";
import { getState, setState, useStore, type State } from "./store";
import { seek } from "./session";
import { goToStop } from "../tour/tour";

const DEFAULT_PRESET_HINTS = ["fpa-chain-gamma1", "chain"];
let lastHash = "";
let applying = false;
let writeTimer: number | undefined;
// The configuration a short link (/s/<id>) opened: while it is unchanged the address stays
// the short link (moving in time or selecting does not turn it into the long one).
let shortConfig: string | null = null;

function linkStateOf(s: State): LinkState {
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

function applyView(view: LinkView): void {
  setState({
    selected: view.selected, colorScale: view.colorScale, colorBy: view.colorBy,
    presenter: view.presenter, hidden: view.hidden, hiddenControls: view.hiddenControls,
    ...(view.tourStop === null ? { tourStop: null } : {}),
  });
}

/** Move to the link's step: at its tour stop (example, compare mode) when it names one. */
function seekView(view: LinkView, afterLoad = false): void {
  if (view.tourStop !== null) goToStop(view.tourStop, { t: view.t, selected: view.selected }, afterLoad);
  else if (!afterLoad) seek(view.t);
}

function showLinkError(message: string): void {
  setState({
    linkError: `This link could not be opened: ${message}.`,
    config: null, snapshot: null, frames: [], issues: [], selected: null, positions: {},
  });
}

/** Validate a configuration read from a link on the server, then load it at step t. */
async function openLinkConfig(config: Config, view: LinkView): Promise<void> {
  let issues;
  try {
    issues = await api.validate(config);
  } catch (e) {
    showLinkError((e as Error).message);
    return;
  }
  if (issues.length) {
    showLinkError(`its configuration is invalid (${issues[0].message})`);
    return;
  }
  applyView(view);
  setState({ linkError: null, ...placed(view) });
  const s = getState();
  if (s.config && JSON.stringify(s.config) === JSON.stringify(config) && s.snapshot) {
    seekView(view); // same graph: just move in time
    return;
  }
  commitConfig(config, { history: false, immediate: true, seekTo: view.t });
  seekView(view, true);
}

async function applyFragment(hash: string): Promise<boolean> {
  applying = true;
  try {
    const link = await decodeLink(hash);
    if (!link) return false;
    if (!link.config) {
      applyView(link);
      if (link.positions) setState(placed(link));
      seekView(link);
      return true;
    }
    await openLinkConfig(link.config, link);
    return true;
  } catch (e) {
    showLinkError(e instanceof LinkError ? e.message : "it is damaged");
    return true;
  } finally {
    lastHash = hash.replace(/^#/, "");
    applying = false;
  }
}

async function applyShortLink(id: string): Promise<void> {
  applying = true;
  try {
    const link = await api.link(id);
    if (!link || typeof link.config !== "object" || link.config === null) throw new LinkError("it is empty");
    const view = readViewParams((link.view ?? {}) as Record<string, unknown>);
    shortConfig = JSON.stringify(link.config);
    await openLinkConfig(link.config, view);
  } catch (e) {
    showLinkError(e instanceof LinkError ? e.message : `short link '${id}' was not found`);
  } finally {
    applying = false;
  }
}

function pickDefaultPreset(presets: PresetInfo[]): string | undefined {
  for (const hint of DEFAULT_PRESET_HINTS) {
    const p = presets.find((x) => x.id === hint) ?? presets.find((x) => x.id.includes(hint));
    if (p) return p.id;
  }
  return presets[0]?.id;
}

/** Called once at start-up, after the rule and preset catalogues arrived. */
export async function openInitialLocation(): Promise<void> {
  const id = shortLinkId(window.location.pathname);
  if (id && !window.location.hash) {
    await applyShortLink(id);
  } else if (!(await applyFragment(window.location.hash))) {
    const preset = pickDefaultPreset(getState().presets);
    if (preset) await openPreset(preset);
  }
  startWriting();
  window.addEventListener("popstate", onNavigate);
  window.addEventListener("hashchange", onNavigate);
}

function onNavigate(): void {
  const hash = window.location.hash.replace(/^#/, "");
  if (hash === lastHash) return;
  const id = shortLinkId(window.location.pathname);
  if (!hash && id) void applyShortLink(id);
  else void applyFragment(hash);
}

function startWriting(): void {
  let prev = linkStateOf(getState());
  useStore.subscribe((s) => {
    const cur = linkStateOf(s);
    const changed = (Object.keys(cur) as (keyof LinkState)[]).some((k) => cur[k] !== prev[k]);
    if (!changed) return;
    const configChanged = cur.config !== prev.config;
    prev = cur;
    if (applying || !cur.config) return;
    window.clearTimeout(writeTimer);
    writeTimer = window.setTimeout(() => void writeHash(configChanged), s.playing ? 1000 : 150);
  });
}

let pendingPush = false;
async function writeHash(push: boolean): Promise<void> {
  pendingPush ||= push;
  if (shortConfig !== null && shortLinkId(window.location.pathname)) {
    if (JSON.stringify(getState().config) === shortConfig) return;
    shortConfig = null; // edited: from here on the address is the long link
  }
  const hash = await encodeLink(linkStateOf(getState()));
  if (hash === lastHash) return;
  lastHash = hash;
  const url = `/#${hash}`;
  if (pendingPush) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
  pendingPush = false;
}

/** Build a link to exactly what is on screen; a short link when it is long. */
export async function share(): Promise<string> {
  const s = getState();
  const state = linkStateOf(s);
  const full = `${window.location.origin}/#${await encodeLink(state)}`;
  let url = full;
  if (full.length > SHORT_LINK_THRESHOLD && s.config) {
    const { id } = await api.createLink({ config: s.config, view: viewParams(state) });
    url = `${window.location.origin}/s/${id}`;
  }
  setState({ shareUrl: url });
  try {
    await navigator.clipboard?.writeText(url);
  } catch {
    /* clipboard may be unavailable; the URL is shown in the page */
  }
  return url;
}
