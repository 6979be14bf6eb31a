// A sample's text kept in chunks of about CHUNK characters, with its per-token arrays and its
// decorations (segments, keyword hits). Appending costs O(appended + CHUNK), whatever the length
// of the text so far: no string of the whole trace is ever rebuilt while tokens stream.

import type { HitInfo, SegmentInfo } from "./protocol.generated";
import { lowerBound } from "./dom";

export const CHUNK = 1024;

export interface Chunk {
  start: number;
  text: string;
}

export class TextStore {
  chunks: Chunk[] = [{ start: 0, text: "" }];
  length = 0;

  /** Append text; return the index of the first chunk that changed. */
  append(s: string): number {
    const first = this.chunks.length - 1;
    let i = 0;
    while (i < s.length) {
      const last = this.chunks[this.chunks.length - 1];
      const room = Math.max(CHUNK - last.text.length, 0);
      const take = room > 0 ? Math.min(room, s.length - i) : s.length - i;
      const piece = s.slice(i, i + Math.min(take, CHUNK));
      last.text += piece;
      i += piece.length;
      this.length += piece.length;
      if (last.text.length >= CHUNK) this.cut(last);
    }
    return first;
  }

  private cut(last: Chunk): void {
    const t = last.text;
    // prefer a line break, then a space; never split a long unbroken run before 4 × CHUNK
    let at = t.lastIndexOf("\n", t.length - 2) + 1;
    if (at < CHUNK / 2) at = t.length >= 2 * CHUNK ? t.lastIndexOf(" ", t.length - 2) + 1 : 0;
    if (at < CHUNK / 2) at = t.length >= 4 * CHUNK ? CHUNK : 0;
    if (at <= 0 || at >= t.length) return;
    last.text = t.slice(0, at);
    this.chunks.push({ start: last.start + at, text: t.slice(at) });
  }

  /** Index of the chunk holding character `pos` (the last chunk for pos >= length). */
  chunkAt(pos: number): number {
    const i = lowerBound(this.chunks.length, (k) => this.chunks[k].start, pos + 1) - 1;
    return Math.max(0, Math.min(i, this.chunks.length - 1));
  }

  slice(a: number, b: number): string {
    if (b <= a) return "";
    const parts: string[] = [];
    for (let i = this.chunkAt(a); i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c.start >= b) break;
      parts.push(c.text.slice(Math.max(0, a - c.start), Math.min(c.text.length, b - c.start)));
    }
    return parts.join("");
  }
}

/** Growable typed arrays: token start offsets, logprobs and entropies. */
export class TokenStore {
  n = 0;
  starts = new Int32Array(1024);
  ends = new Int32Array(1024);
  logprobs: Float32Array | null = null;
  entropies: Float32Array | null = null;

  private grow(need: number): void {
    if (need <= this.starts.length) return;
    let cap = this.starts.length;
    while (cap < need) cap *= 2;
    const grow32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    const growF = (a: Float32Array | null) => {
      if (a === null) return null;
      const b = new Float32Array(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.starts = grow32(this.starts);
    this.ends = grow32(this.ends);
    this.logprobs = growF(this.logprobs);
    this.entropies = growF(this.entropies);
  }

  /** Append k tokens: `offsets` holds k [start, end) pairs in raw-text coordinates. */
  append(offsets: Int32Array, logprobs: Float32Array | null, entropies: Float32Array | null): void {
    const k = offsets.length >> 1;
    this.grow(this.n + k);
    if (logprobs && this.logprobs === null && this.n === 0) this.logprobs = new Float32Array(this.starts.length);
    if (entropies && this.entropies === null && this.n === 0) this.entropies = new Float32Array(this.starts.length);
    for (let i = 0; i < k; i++) {
      this.starts[this.n + i] = offsets[2 * i];
      this.ends[this.n + i] = offsets[2 * i + 1];
    }
    if (this.logprobs) {
      if (logprobs && logprobs.length === k) this.logprobs.set(logprobs, this.n);
      else this.logprobs = null;
    }
    if (this.entropies) {
      if (entropies && entropies.length === k) this.entropies.set(entropies, this.n);
      else this.entropies = null;
    }
    this.n += k;
  }

  /** Index of the first token ending after `pos`. */
  firstAfter(pos: number): number {
    return lowerBound(this.n, (i) => this.ends[i], pos + 1);
  }
}

/** Segments and hits sorted by start; the open (still growing) segment kept apart. */
export class Decorations {
  segments: SegmentInfo[] = [];
  open: SegmentInfo | null = null;
  hits: HitInfo[] = [];

  setAll(segments: SegmentInfo[], hits: HitInfo[]): void {
    this.segments = [...segments].sort((a, b) => a.start - b.start);
    this.hits = [...hits].sort((a, b) => a.start - b.start);
    this.open = null;
  }

  addSegments(segments: SegmentInfo[]): void {
    for (const s of segments) {
      const i = lowerBound(this.segments.length, (k) => this.segments[k].start, s.start);
      if (i < this.segments.length && this.segments[i].start === s.start) this.segments[i] = s;
      else this.segments.splice(i, 0, s);
    }
  }

  addHits(hits: HitInfo[]): void {
    for (const h of hits) {
      const n = this.hits.length;
      if (n === 0 || this.hits[n - 1].start < h.start) this.hits.push(h);
      else {
        const i = lowerBound(n, (k) => this.hits[k].start, h.start);
        if (i < n && this.hits[i].start === h.start) this.hits[i] = h;
        else this.hits.splice(i, 0, h);
      }
    }
  }

  /** Segments overlapping [a, b), the open one included. */
  segmentsIn(a: number, b: number): SegmentInfo[] {
    const out: SegmentInfo[] = [];
    const segs = this.segments;
    let i = lowerBound(segs.length, (k) => segs[k].end, a + 1);
    for (; i < segs.length && segs[i].start < b; i++) out.push(segs[i]);
    const o = this.open;
    if (o && o.start < b && o.end > a && !out.some((s) => s.start === o.start)) out.push(o);
    return out;
  }

  hitsIn(a: number, b: number): HitInfo[] {
    const out: HitInfo[] = [];
    const hs = this.hits;
    for (let i = lowerBound(hs.length, (k) => hs[k].end, a + 1); i < hs.length && hs[i].start < b; i++) out.push(hs[i]);
    return out;
  }

  segmentAt(pos: number): SegmentInfo | null {
    const segs = this.segments;
    const i = lowerBound(segs.length, (k) => segs[k].end, pos + 1);
    if (i < segs.length && segs[i].start <= pos) return segs[i];
    const o = this.open;
    return o && o.start <= pos && pos < o.end ? o : null;
  }
}
