// The link between one rendered view and its kernel-side widget: typed messages both ways, the
// "ready" handshake that replays state to a view rendered late, and errors shown under the view.

import type { AnyModel } from "@anywidget/types";
import type { FrontMessage, KernelMessage } from "./protocol.generated";
import { PROTOCOL_HASH } from "./protocol.generated";
import { h, setText } from "./dom";

export type Model = AnyModel<Record<string, unknown>>;

let counter = 0;

export class Channel {
  readonly viewId: string;
  readonly errorEl: HTMLElement;
  private handlers: ((msg: KernelMessage, buffers: DataView[]) => void)[] = [];
  private cleanups: (() => void)[] = [];

  constructor(readonly model: Model) {
    counter += 1;
    this.viewId = `v${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e6).toString(36)}`;
    this.errorEl = h("div", { class: "wb-error", role: "alert" });
    const onMsg = (msg: unknown, buffers: DataView[]) => {
      if (typeof msg !== "object" || msg === null || typeof (msg as { type?: unknown }).type !== "string") return;
      const m = msg as KernelMessage;
      if (m.type === "error") {
        this.showError(m.message);
        return;
      }
      for (const fn of this.handlers) {
        try {
          fn(m, buffers ?? []);
        } catch (err) {
          this.showError(`front end: ${String(err)}`);
        }
      }
    };
    model.on("msg:custom", onMsg);
    this.cleanups.push(() => model.off("msg:custom", onMsg));
    const onError = () => this.showError(String(model.get("error") ?? ""));
    model.on("change:error", onError);
    this.cleanups.push(() => model.off("change:error", onError));
    onError();
  }

  /** Check the bundle speaks the kernel's protocol; show why not if it does not. */
  protocolOk(): boolean {
    const kernel = String(this.model.get("_protocol") ?? "");
    if (kernel && kernel !== PROTOCOL_HASH) {
      this.showError(
        `This widget bundle speaks message protocol ${PROTOCOL_HASH} but the kernel speaks ${kernel}: ` +
          "reinstall thinking-workbench or rebuild the front end (make widgets), then restart the kernel.",
      );
      return false;
    }
    return true;
  }

  onMessage(fn: (msg: KernelMessage, buffers: DataView[]) => void): void {
    this.handlers.push(fn);
  }

  onChange(name: string, fn: () => void): void {
    const ev = `change:${name}`;
    this.model.on(ev, fn);
    this.cleanups.push(() => this.model.off(ev, fn));
  }

  send(msg: FrontMessage): void {
    this.model.send(msg);
  }

  ready(): void {
    this.send({ type: "ready", view: this.viewId, protocol: PROTOCOL_HASH });
  }

  showError(message: string): void {
    setText(this.errorEl, message);
    this.errorEl.style.display = message ? "" : "none";
  }

  addCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  dispose(): void {
    for (const fn of this.cleanups.splice(0)) fn();
    this.handlers = [];
  }
}

export function int32(buffers: DataView[], index: number | null): Int32Array | null {
  if (index === null || !buffers[index]) return null;
  const v = buffers[index];
  return new Int32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

export function float32(buffers: DataView[], index: number | null): Float32Array | null {
  if (index === null || !buffers[index]) return null;
  const v = buffers[index];
  return new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}
