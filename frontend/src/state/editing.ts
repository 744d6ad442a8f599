// Committing a configuration edit: undo/redo history, server validation (debounced),
// then a `load` into the session. A rule setting goes through `set` instead.
import type { Config, Issue } from "../protocol/config";
import { api } from "../protocol/api";
import { getState, setState, type State } from "./store";
import { loadConfig, setRuleSetting } from "./session";

const HISTORY = 100;

export interface CommitOptions {
  history?: boolean; // default true
  /** Send `set {path, value}` instead of validating + loading the whole config. */
  set?: { path: string; value: unknown };
  seekTo?: number;
  immediate?: boolean;
  /** A part the engine ignores (training settings): the page and the link only. */
  local?: boolean;
}

/** What the editor needs from the page: the store, the server and a clock (injected so
 * that tests drive it with fakes). */
export interface EditorDeps {
  getState: () => State;
  setState: (patch: Partial<State>) => void;
  validate: (config: Config) => Promise<Issue[]>;
  fetchPreset: (id: string) => Promise<Config>;
  load: (config: Config, seekTo?: number) => void;
  setRuleSetting: (path: string, value: unknown) => void;
  setTimer: (fn: () => void, ms: number) => number;
  clearTimer: (id: number | undefined) => void;
}

export class ConfigEditor {
  private validateTimer: number | undefined;
  // each validation gets a number; an answer to anything but the latest is dropped
  private validateSeq = 0;

  constructor(private deps: EditorDeps) {}

  commit(next: Config, opts: CommitOptions = {}): void {
    const { config, past } = this.deps.getState();
    const patch: Partial<State> = { config: next, shareUrl: null };
    if (opts.history !== false && config) {
      Object.assign(patch, { past: [...past, config].slice(-HISTORY), future: [] });
    }
    this.deps.setState(patch);
    if (opts.local) return;
    if (opts.set) {
      this.deps.setRuleSetting(opts.set.path, opts.set.value);
      return;
    }
    this.scheduleValidate(next, opts.seekTo, opts.immediate ? 0 : 250);
  }

  private scheduleValidate(config: Config, seekTo: number | undefined, delay: number): void {
    const { deps } = this;
    deps.clearTimer(this.validateTimer);
    const seq = ++this.validateSeq;
    this.validateTimer = deps.setTimer(async () => {
      try {
        const issues = await deps.validate(config);
        if (seq !== this.validateSeq) return;
        // each issue is shown once, where it belongs (node, field or banner); while any
        // stands the live session is stopped (transport disabled, graph dimmed)
        deps.setState({ issues });
        if (issues.length === 0) {
          deps.setState({ learnRows: [] }); // a load rebuilds the model: its learning starts afresh
          deps.load(config, seekTo);
        }
      } catch (e) {
        if (seq !== this.validateSeq) return;
        deps.setState({ notice: { kind: "error", text: (e as Error).message } });
      }
    }, delay);
  }

  undo(): void {
    const { past, future, config } = this.deps.getState();
    if (!past.length || !config) return;
    const prev = past[past.length - 1];
    this.deps.setState({ past: past.slice(0, -1), future: [config, ...future] });
    this.commit(prev, { history: false });
  }

  redo(): void {
    const { past, future, config } = this.deps.getState();
    if (!future.length || !config) return;
    const [next, ...rest] = future;
    this.deps.setState({ past: [...past, config], future: rest });
    this.commit(next, { history: false });
  }

  /** Open a preset from the gallery. */
  async openPreset(id: string): Promise<void> {
    try {
      const config = await this.deps.fetchPreset(id);
      this.deps.setState({ linkError: null, selected: null, positions: {}, origin: { id, config }, learnRows: [],
        tourStop: null });
      this.commit(config, { immediate: true });
    } catch (e) {
      this.deps.setState({ notice: { kind: "error", text: `cannot open preset '${id}': ${(e as Error).message}` } });
    }
  }
}

const editor = new ConfigEditor({
  getState, setState,
  validate: (config) => api.validate(config),
  fetchPreset: (id) => api.preset(id),
  load: (config, seekTo) => loadConfig(config, seekTo),
  setRuleSetting: (path, value) => setRuleSetting(path, value),
  setTimer: (fn, ms) => window.setTimeout(fn, ms),
  clearTimer: (id) => window.clearTimeout(id),
});

export const commitConfig = (next: Config, opts: CommitOptions = {}): void => editor.commit(next, opts);
export const undo = (): void => editor.undo();
export const redo = (): void => editor.redo();
export const openPreset = (id: string): Promise<void> => editor.openPreset(id);
