// The annotation keys, one map for the Annotator widget (annotator.ts) and the JupyterLab
// extension's trajectory viewer (extensions/src/viewer.ts), which both import this module.

export const HELP =
  "j/k segment · 1–9 label · 0 clear label · r then 1–5 rate · n note · c chosen · x rejected · u undo · J/K trajectory";

export type Action =
  | { type: "move"; step: number }
  | { type: "navigate"; step: number }
  | { type: "label"; key: number }
  | { type: "clear-label" }
  | { type: "rate-mode" }
  | { type: "rate"; value: number | null }
  | { type: "rate-cancel" }
  | { type: "note" }
  | { type: "verdict"; value: "chosen" | "rejected" }
  | { type: "undo" };

/** Map a key press to an action, as the Annotator does; `rating` is true after `r`. */
export function keyAction(key: string, rating: boolean): Action | null {
  if (rating) {
    if (/^[1-5]$/.test(key)) return { type: "rate", value: Number(key) };
    if (key === "0") return { type: "rate", value: null };
    return { type: "rate-cancel" };
  }
  if (key === "j" || key === "ArrowDown") return { type: "move", step: 1 };
  if (key === "k" || key === "ArrowUp") return { type: "move", step: -1 };
  if (key === "J" || key === "]") return { type: "navigate", step: 1 };
  if (key === "K" || key === "[") return { type: "navigate", step: -1 };
  if (/^[1-9]$/.test(key)) return { type: "label", key: Number(key) };
  if (key === "0") return { type: "clear-label" };
  if (key === "r") return { type: "rate-mode" };
  if (key === "n") return { type: "note" };
  if (key === "c") return { type: "verdict", value: "chosen" };
  if (key === "x") return { type: "verdict", value: "rejected" };
  if (key === "u") return { type: "undo" };
  return null;
}
