// Permalink codec: a typed table of fields with defaults. Only non-default values are
// written; the configuration travels as deflate-raw + base64url JSON. Version v=1.
//   #v=1&c=<config>&t=3&sel=h2&cs=layer&hide=presets,charts&pm=1&ts=2&hc=reset,speed
import type { Config } from "../protocol/config";
import { NODE_ID_PATTERN } from "../protocol/config";
import { compressText, decompressText } from "./compress";
import { CONTROLS, PANELS, type ColorBy, type ColorScale, type ControlId, type PanelId, type XY } from "./store";

export const LINK_VERSION = 1;
export const SHORT_LINK_THRESHOLD = 2000;

export interface LinkState {
  config: Config | null;
  t: number;
  selected: string | null;
  colorScale: ColorScale;
  colorBy: ColorBy;
  presenter: boolean;
  hidden: PanelId[];
  positions: Record<string, XY> | null; // dragged card positions; null: the auto-layout
  tourStop: number | null; // the guided tour's stop (its index)
  hiddenControls: ControlId[]; // controls the presenter hid
}

export type LinkView = Omit<LinkState, "config">;

export class LinkError extends Error {}

interface Field<K extends keyof LinkView> {
  key: string;
  name: K;
  default: LinkView[K];
  write: (v: LinkView[K]) => string;
  read: (s: string) => LinkView[K]; // throws LinkError on a bad value
}

const bad = (what: string): never => {
  throw new LinkError(`the link's ${what} is not valid`);
};

function enumField<K extends "colorScale" | "colorBy">(
  key: string, name: K, values: readonly LinkView[K][], dflt: LinkView[K],
): Field<K> {
  return {
    key, name, default: dflt,
    write: (v) => String(v),
    read: (s) => (values.includes(s as LinkView[K]) ? (s as LinkView[K]) : bad(name)),
  };
}

// The table. Order is the order of keys in the fragment.
export const FIELDS = [
  {
    key: "t", name: "t", default: 0,
    write: (v: number) => String(v),
    read: (s: string) => (/^\d{1,6}$/.test(s) ? Number(s) : bad("step t")),
  } satisfies Field<"t">,
  {
    key: "sel", name: "selected", default: null,
    write: (v: string | null) => v ?? "",
    read: (s: string) => (NODE_ID_PATTERN.test(s) ? s : bad("selected node")),
  } satisfies Field<"selected">,
  enumField("cs", "colorScale", ["local", "layer", "global"], "global"),
  enumField("cb", "colorBy", ["error", "value", "prediction"], "error"),
  {
    key: "pm", name: "presenter", default: false,
    write: (v: boolean) => (v ? "1" : "0"),
    read: (s: string) => (s === "1" ? true : s === "0" ? false : bad("presenter flag")),
  } satisfies Field<"presenter">,
  {
    key: "hide", name: "hidden", default: [] as PanelId[],
    write: (v: PanelId[]) => v.join(","),
    read: (s: string) =>
      s.split(",").filter(Boolean).map((p) => (PANELS.includes(p as PanelId) ? (p as PanelId) : bad("hidden panels"))),
  } satisfies Field<"hidden">,
  {
    // "id~x~y,..." in whole flow units
    key: "pos", name: "positions", default: null,
    write: (v: Record<string, XY> | null) =>
      Object.entries(v ?? {}).map(([id, p]) => `${id}~${Math.round(p.x)}~${Math.round(p.y)}`).join(","),
    read: (s: string) => {
      const out: Record<string, XY> = {};
      for (const part of s.split(",").filter(Boolean)) {
        const [id, x, y, ...rest] = part.split("~");
        const num = (t: string | undefined) => (t !== undefined && /^-?\d{1,7}$/.test(t) ? Number(t) : bad("card positions"));
        if (rest.length || !NODE_ID_PATTERN.test(id ?? "")) bad("card positions");
        out[id] = { x: num(x), y: num(y) };
      }
      return out;
    },
  } satisfies Field<"positions">,
  {
    key: "ts", name: "tourStop", default: null,
    write: (v: number | null) => (v === null ? "" : String(v)),
    read: (s: string) => (/^\d{1,2}$/.test(s) ? Number(s) : bad("tour stop")),
  } satisfies Field<"tourStop">,
  {
    key: "hc", name: "hiddenControls", default: [] as ControlId[],
    write: (v: ControlId[]) => v.join(","),
    read: (s: string) =>
      s.split(",").filter(Boolean).map((c) => (CONTROLS.includes(c as ControlId) ? (c as ControlId) : bad("hidden controls"))),
  } satisfies Field<"hiddenControls">,
] as const;

export const DEFAULT_VIEW: LinkView = Object.fromEntries(FIELDS.map((f) => [f.name, f.default])) as unknown as LinkView;

function isDefault(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The view part as a plain object of non-default values (also what short links store). */
export function viewParams(view: LinkView): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of FIELDS) {
    const v = view[f.name];
    if (!isDefault(v, f.default)) out[f.key] = (f.write as (x: typeof v) => string)(v);
  }
  return out;
}

export function readViewParams(params: Record<string, unknown>): LinkView {
  const view: LinkView = { ...DEFAULT_VIEW };
  for (const f of FIELDS) {
    const raw = params[f.key];
    if (raw === undefined) continue;
    if (typeof raw !== "string") bad(f.name);
    (view as unknown as Record<string, unknown>)[f.name] = f.read(raw as string);
  }
  return view;
}

export async function encodeLink(state: LinkState): Promise<string> {
  const parts = [`v=${LINK_VERSION}`];
  if (state.config) parts.push(`c=${await compressText(JSON.stringify(state.config))}`);
  for (const [k, v] of Object.entries(viewParams(state))) parts.push(`${k}=${encodeURIComponent(v)}`);
  return parts.join("&");
}

/** Parse a fragment (with or without '#'). Empty fragment → null. Throws LinkError. */
export async function decodeLink(fragment: string): Promise<LinkState | null> {
  const text = fragment.replace(/^#/, "");
  if (!text) return null;
  if (text.length > 200_000) throw new LinkError("the link is too long");
  const params: Record<string, string> = {};
  for (const part of text.split("&")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new LinkError("the link is malformed");
    try {
      params[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1));
    } catch {
      throw new LinkError("the link is malformed");
    }
  }
  if (params.v !== String(LINK_VERSION)) {
    throw new LinkError(params.v ? `link version ${params.v} is not supported` : "the link has no version");
  }
  let config: Config | null = null;
  if (params.c !== undefined) {
    let json: string;
    try {
      json = await decompressText(params.c);
    } catch {
      throw new LinkError("the link's configuration is damaged and cannot be read");
    }
    try {
      config = JSON.parse(json) as Config;
    } catch {
      throw new LinkError("the link's configuration is not valid JSON");
    }
    if (!config || typeof config !== "object" || Array.isArray(config)) {
      throw new LinkError("the link's configuration is not an object");
    }
  }
  return { config, ...readViewParams(params) };
}

export function shortLinkId(pathname: string): string | null {
  const m = /^\/s\/([A-Za-z0-9_-]{1,64})\/?$/.exec(pathname);
  return m ? m[1] : null;
}
