// REST routes (same origin; relative URLs).
import type { Config, Issue } from "./config";

export interface RuleParam {
  name: string;
  type: string; // "number" | "integer" | "boolean" | "string" | "choice"
  default: unknown;
  minimum?: number | null;
  maximum?: number | null;
  choices?: unknown[] | null;
  nullable?: boolean;
  description?: string;
}

export interface RuleInfo {
  name: string;
  title: string;
  description: string;
  params: RuleParam[];
  supports: string;
}

export interface PresetInfo {
  id: string;
  title: string;
  description: string;
  rule: string | null;
}

/** What a permalink (or short link) carries besides the configuration. */
export type LinkView = Record<string, unknown>;

export interface StoredLink {
  config: Config;
  view?: LinkView;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

const STARTING_TRIES = 60;

async function request<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(url, init);
    } catch {
      throw new ApiError(`cannot reach the server (${url})`, 0);
    }
    // 503 {"status": "starting"}: the server's workers are warming up; wait as it says
    if (res.status !== 503 || attempt >= STARTING_TRIES) break;
    const wait = Number(res.headers.get("Retry-After") ?? "1");
    await new Promise((r) => setTimeout(r, 1000 * Math.min(5, Math.max(0.2, wait || 1))));
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { issues?: Issue[]; detail?: unknown; message?: string };
    const issues = Array.isArray(b.issues) ? b.issues : [];
    const msg =
      issues[0]?.message ??
      b.message ??
      (typeof b.detail === "string" ? b.detail : `request failed (${res.status})`);
    throw new ApiError(msg, res.status, issues);
  }
  return body as T;
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const api = {
  rules: () => request<RuleInfo[]>("/api/rules"),
  presets: () => request<PresetInfo[]>("/api/presets"),
  preset: (id: string) => request<Config>(`/api/presets/${encodeURIComponent(id)}`),
  async validate(config: Config): Promise<Issue[]> {
    try {
      await request<{ ok: boolean }>("/api/validate", json(config));
      return [];
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        return e.issues.length ? e.issues : [{ path: "", node: null, field: null, message: e.message }];
      }
      throw e;
    }
  },
  createLink: (link: StoredLink) => request<{ id: string }>("/api/links", json(link)),
  link: (id: string) => request<StoredLink>(`/api/links/${encodeURIComponent(id)}`),
};
