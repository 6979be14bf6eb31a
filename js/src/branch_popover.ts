// The popover of a clicked token in LiveTrace: its recorded alternatives (logprob shown), a text
// field, and the choice that forks the trace there. Everything shown from the model goes in as
// textContent; whitespace is made visible so a " the" and a "the" can be told apart.

import type { TokenInfoMsg } from "./protocol.generated";
import { button, clear, h, setText } from "./dom";

export interface BranchChoice {
  alternative: number | null;
  text: string | null;
}

/** Model text with its whitespace visible (a space is ␣, a line break ⏎, a tab ⇥). */
export function visible(text: string): string {
  if (!text) return "∅";
  return text.replace(/ /g, "␣").replace(/\n/g, "⏎").replace(/\t/g, "⇥");
}

function lp(v: number | null): string {
  return v === null || !Number.isFinite(v) ? "–" : v.toFixed(2);
}

export class BranchPopover {
  readonly el: HTMLElement;
  info: TokenInfoMsg | null = null;
  private body: HTMLElement;
  private status: HTMLElement;
  private onDocDown: (ev: MouseEvent) => void;

  constructor(private host: HTMLElement, private choose: (info: TokenInfoMsg, c: BranchChoice) => void, private onClose: () => void) {
    this.body = h("div", { class: "wb-pop-body" });
    this.status = h("div", { class: "wb-pop-status", role: "status" });
    this.el = h("div", { class: "wb-popover", role: "dialog", label: "branch from this token", tabindex: -1 }, [this.body, this.status]);
    this.el.style.display = "none";
    this.el.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        this.close();
      }
    });
    this.el.addEventListener("click", (ev) => ev.stopPropagation());
    this.onDocDown = (ev: MouseEvent) => {
      if (this.isOpen() && !this.el.contains(ev.target as Node)) this.close();
    };
    document.addEventListener("mousedown", this.onDocDown, true);
    host.appendChild(this.el);
  }

  isOpen(): boolean {
    return this.el.style.display !== "none";
  }

  /** Show a token's alternatives next to the point (x, y), in the host's client coordinates. */
  show(info: TokenInfoMsg, x: number, y: number): void {
    this.info = info;
    clear(this.body);
    setText(this.status, "");
    const close = button("×", "Close (Esc)", () => this.close(), "wb-small wb-pop-close");
    close.setAttribute("aria-label", "close");
    this.body.appendChild(
      h("div", { class: "wb-pop-head" }, [
        h("span", { class: "wb-pop-title", text: `token ${info.token}` }),
        h("code", { class: "wb-pop-token", text: visible(info.text), title: info.text }),
        h("span", { class: "wb-pop-lp", text: `logprob ${lp(info.logprob)}` }),
        close,
      ]),
    );
    const disabled = !info.can_branch;
    if (info.alternatives.length) {
      this.body.appendChild(h("div", { class: "wb-pop-label", text: "alternatives (branch with one):" }));
      const list = h("div", { class: "wb-pop-alts", role: "list" });
      info.alternatives.forEach((alt, i) => {
        const sampled = alt.text === info.text;
        const b = h("button", { class: "wb-btn wb-alt", type: "button", disabled, title: `alternative ${i}: ${JSON.stringify(alt.text)}` }, [
          h("code", { class: "wb-alt-text", text: visible(alt.text) }),
          h("span", { class: "wb-alt-lp", text: lp(alt.logprob) + (sampled ? " · sampled" : "") }),
        ]);
        b.addEventListener("click", (ev) => {
          ev.stopPropagation();
          this.pick({ alternative: i, text: null });
        });
        list.appendChild(b);
      });
      this.body.appendChild(list);
    } else {
      this.body.appendChild(h("div", { class: "wb-pop-note", text: "No alternatives recorded for this token (generate with logprobs=k)." }));
    }
    const input = h("input", { class: "wb-pop-input", type: "text", placeholder: "or type text to put here", label: "text to force in place of the token", disabled });
    const go = button("Branch", "Fork here with the typed text", () => {
      if (input.value) this.pick({ alternative: null, text: input.value });
    }, "wb-small");
    go.disabled = disabled;
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && input.value) {
        ev.preventDefault();
        this.pick({ alternative: null, text: input.value });
      }
    });
    const again = button("Re-sample", "Fork here and let the model sample this token again", () => this.pick({ alternative: null, text: null }), "wb-small");
    again.disabled = disabled;
    this.body.appendChild(h("div", { class: "wb-pop-row" }, [input, go, again]));
    if (disabled) this.body.appendChild(h("div", { class: "wb-pop-note", text: info.reason }));
    this.el.style.display = "";
    // kept inside the widget horizontally (narrow notebooks included)
    const host = this.host.getBoundingClientRect();
    const width = Math.min(340, Math.max(200, host.width - 8));
    this.el.style.width = `${width}px`;
    const left = Math.max(4, Math.min(x - host.left - 12, host.width - width - 4));
    this.el.style.left = `${Math.round(left)}px`;
    // below the click when it fits in the widget, else above it (never above the widget's top)
    const below = y - host.top + 14;
    const tall = this.el.offsetHeight;
    const top = below + tall <= host.height - 4 ? below : Math.max(4, y - host.top - tall - 10);
    this.el.style.top = `${Math.round(top)}px`;
    this.el.focus({ preventScroll: true });
  }

  private pick(choice: BranchChoice): void {
    if (!this.info) return;
    setText(this.status, "branching…");
    this.choose(this.info, choice);
  }

  /** Show the kernel's answer: a failure stays open with its message. */
  answered(ok: boolean, message: string): void {
    if (ok) this.close();
    else setText(this.status, message);
  }

  close(): void {
    if (!this.isOpen()) return;
    this.el.style.display = "none";
    this.info = null;
    this.onClose();
  }

  dispose(): void {
    document.removeEventListener("mousedown", this.onDocDown, true);
  }
}
