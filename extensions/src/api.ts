// Calls to the server extension through Jupyter's ServerConnection, which adds the server's
// token and the XSRF header exactly as JupyterLab does for its own API.

import { URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import type { AnnotationReply, Filters, Page, StoreInfo, TrajectoryDoc } from "./types";

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly reason: string | null) {
    super(message);
  }
}

export class Api {
  private settings = ServerConnection.makeSettings();

  private url(path: string, query = ""): string {
    return URLExt.join(this.settings.baseUrl, "workbench", "api", path) + query;
  }

  private async call<T>(path: string, query = "", init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(path, query), init, this.settings);
    } catch (err) {
      throw new ApiError(`cannot reach the server: ${String(err)}`, 0, "network");
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const b = (body ?? {}) as { message?: string; reason?: string | null };
      const hint = response.status === 404 && !b.reason ? " (is the workbench server extension enabled? `jupyter server extension list`)" : "";
      throw new ApiError(`${b.message ?? response.statusText}${hint}`, response.status, b.reason ?? null);
    }
    return body as T;
  }

  info(): Promise<StoreInfo> {
    return this.call<StoreInfo>("info");
  }

  page(filters: Filters, offset: number, limit: number, count: boolean): Promise<Page> {
    return this.call<Page>("trajectories", listQuery(filters, offset, limit, count));
  }

  trajectory(id: string): Promise<TrajectoryDoc> {
    return this.call<TrajectoryDoc>(`trajectories/${encodeURIComponent(id)}`);
  }

  annotate(id: string, kind: string, value: unknown, segmentId: string | null): Promise<AnnotationReply> {
    return this.call<AnnotationReply>(`trajectories/${encodeURIComponent(id)}/annotations`, "", {
      method: "POST",
      body: JSON.stringify({ kind, value, segment_id: segmentId }),
    });
  }
}

/** The list endpoint's query string for a filter state and a page. */
export function listQuery(f: Filters, offset: number, limit: number, count: boolean): string {
  const q = new URLSearchParams();
  if (f.search.trim()) q.append("search", f.search.trim());
  if (f.model) q.append("model", f.model);
  if (f.status) q.append("status", f.status);
  if (f.grade) q.append("grade", f.grade);
  if (f.gradeMin.trim() && Number.isFinite(Number(f.gradeMin))) q.append("grade_min", f.gradeMin.trim());
  for (const tag of f.tags) q.append("tag", tag);
  q.append("sort", f.sort);
  q.append("order", f.order);
  q.append("offset", String(offset));
  q.append("limit", String(limit));
  if (count) q.append("count", "1");
  return `?${q.toString()}`;
}
