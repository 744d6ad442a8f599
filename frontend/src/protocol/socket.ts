// The websocket to /ws on the page's own origin. Reconnects with backoff; the
// caller re-sends hello + load on every (re)open through `onOpen`. Frames arrive as
// float32 binary messages (hello {binary: true}), decoded with the latest `schema`.
import { followCode } from "../state/classroom";
import { BinaryFrameError, decodeFrame } from "./binary";
import { PROTO, type ClientMessage, type FrameSchema, type ServerMessage } from "./messages";

export type SocketStatus = "connecting" | "open" | "closed";

export interface SocketHandlers {
  onOpen: () => void;
  onMessage: (msg: ServerMessage) => void;
  onStatus: (status: SocketStatus) => void;
}

export function socketUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const code = followCode(); // a follower's socket names its class (the proxy routes on it)
  return `${scheme}//${loc.host}/ws${code ? `?class=${encodeURIComponent(code)}` : ""}`;
}

export class Socket {
  private ws: WebSocket | null = null;
  private retry = 0;
  private closedByUs = false;
  private timer: number | undefined;
  private schema: FrameSchema | null = null;

  constructor(
    private readonly handlers: SocketHandlers,
    private readonly binary = true,
  ) {}

  connect(): void {
    this.closedByUs = false;
    this.handlers.onStatus("connecting");
    const ws = new WebSocket(socketUrl());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.schema = null;
    ws.onopen = () => {
      this.retry = 0;
      this.handlers.onStatus("open");
      this.send({ type: "hello", proto: PROTO, binary: this.binary });
      this.handlers.onOpen();
    };
    ws.onmessage = (ev) => {
      let msg: ServerMessage;
      try {
        if (ev.data instanceof ArrayBuffer) {
          if (!this.schema) return; // a frame from before the first schema
          msg = decodeFrame(ev.data, this.schema);
        } else {
          msg = JSON.parse(ev.data as string) as ServerMessage;
        }
      } catch (err) {
        if (err instanceof BinaryFrameError) console.warn("binary frame:", err.message);
        return;
      }
      if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
      if (msg.type === "schema") {
        this.schema = msg;
        return;
      }
      this.handlers.onMessage(msg);
    };
    ws.onclose = () => {
      this.ws = null;
      this.handlers.onStatus("closed");
      if (this.closedByUs) return;
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(msg: ClientMessage): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  close(): void {
    this.closedByUs = true;
    window.clearTimeout(this.timer);
    this.ws?.close();
  }
}
