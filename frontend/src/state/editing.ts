// Committing a configuration edit: undo/redo history, server validation (debounced),
// then a `load` into the session. A rule setting goes through `set` instead.
import type { Config } from "../protocol/config";
import { api } from "../protocol/api";
import { getState, setState, type State } from "./store";
import { loadConfig, setRuleSetting } from "./session";

const HISTORY = 100;
let validateTimer: number | undefined;
let validateSeq = 0;

export interface CommitOptions {
  history?: boolean; // default true
  /** Send `set {path, value}` instead of validating + loading the whole config. */
  set?: { path: string; value: unknown };
  seekTo?: number;
  immediate?: boolean;
}

export function commitConfig(next: Config, opts: CommitOptions = {}): void {
  const { config, past } = getState();
  const patch: Partial<State> = { config: next, shareUrl: null };
  if (opts.history !== false && config) {
    Object.assign(patch, { past: [...past, config].slice(-HISTORY), future: [] });
  }
  setState(patch);
  if (opts.set) {
    setRuleSetting(opts.set.path, opts.set.value);
    return;
  }
  scheduleValidate(next, opts.seekTo, opts.immediate ? 0 : 250);
}

function scheduleValidate(config: Config, seekTo: number | undefined, delay: number): void {
  window.clearTimeout(validateTimer);
  const seq = ++validateSeq;
  validateTimer = window.setTimeout(async () => {
    try {
      const issues = await api.validate(config);
      if (seq !== validateSeq) return;
      // each issue is shown once, where it belongs (node, field or banner); while any
      // stands the live session is stopped (transport disabled, graph dimmed)
      setState({ issues });
      if (issues.length === 0) {
        setState({ learnRows: [] }); // a load rebuilds the model: its learning starts afresh
        loadConfig(config, seekTo);
      }
    } catch (e) {
      if (seq !== validateSeq) return;
      setState({ notice: { kind: "error", text: (e as Error).message } });
    }
  }, delay);
}

export function undo(): void {
  const { past, future, config } = getState();
  if (!past.length || !config) return;
  const prev = past[past.length - 1];
  setState({ past: past.slice(0, -1), future: [config, ...future] });
  commitConfig(prev, { history: false });
}

export function redo(): void {
  const { past, future, config } = getState();
  if (!future.length || !config) return;
  const [next, ...rest] = future;
  setState({ past: [...past, config], future: rest });
  commitConfig(next, { history: false });
}

/** Open a preset from the gallery. */
export async function openPreset(id: string): Promise<void> {
  try {
    const config = await api.preset(id);
    setState({ linkError: null, selected: null, positions: {}, origin: { id, config }, learnRows: [] });
    commitConfig(config, { immediate: true });
  } catch (e) {
    setState({ notice: { kind: "error", text: `cannot open preset '${id}': ${(e as Error).message}` } });
  }
}
