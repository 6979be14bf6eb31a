// Shapes of the server extension's JSON (workbench_jupyterlab/api.py) and of the trajectory MIME
// payload (workbench/widgets/display.py: trajectory_json). Records shared with the widgets
// (segments, hits, history entries, annotation state) are the types generated from
// workbench/widgets/_protocol.py (js/src/protocol.generated.ts).

import type {
  AnnotationState as WidgetAnnotationState,
  HistoryEntry,
  HitInfo,
  SegmentInfo,
} from "../../js/src/protocol.generated";

export const MIME = "application/vnd.workbench.trajectory+json";

export type { HistoryEntry, HitInfo, SegmentInfo };

export interface Message {
  role: string;
  content: string;
}

/** Trajectory.to_dict() as the MIME payload carries it (token arrays left out). */
export interface TrajectoryData {
  id: string;
  prompt: Message[] | string;
  raw: string;
  think_format: string | null;
  thinking_span: [number, number];
  answer_span: [number, number];
  model: string | null;
  backend: string | null;
  status: string;
  finish_reason: string | null;
  gold: string | null;
  grade: { score: number | null; correct: boolean | null; grader?: string | null } | null;
  source: string | null;
  source_id: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  parent_id: string | null;
  created_at: number;
}

/** `application/vnd.workbench.trajectory+json`; segments, hits and labels are optional. */
export interface Payload {
  version: number;
  trajectory: TrajectoryData;
  n_tokens?: number;
  segments?: SegmentInfo[];
  hits?: HitInfo[];
  labels?: string[];
}

/** The widget's annotation state plus the latest value per (segment, kind). */
export interface AnnotationState extends WidgetAnnotationState {
  latest: [string | null, string, unknown][];
}

export interface TrajectoryDoc {
  payload: Payload;
  segments: SegmentInfo[];
  hits: HitInfo[];
  segments_stored: boolean;
  labels: string[];
  state: AnnotationState;
}

export interface AnnotationReply {
  annotation: HistoryEntry;
  previous: unknown;
  state: AnnotationState;
}

export interface Row {
  id: string;
  model: string | null;
  status: string;
  think_format: string;
  thinking_chars: number;
  answer_chars: number;
  n_tokens: number | null;
  grade: number | null;
  correct: boolean | null;
  tags: string[];
  source: string | null;
  source_id: string | null;
  parent_id: string | null;
  created_at: number;
  prompt: string;
}

export interface Page {
  rows: Row[];
  offset: number;
  limit: number;
  total?: number;
}

export interface StoreInfo {
  store: string;
  total: number;
  annotations: number;
  models: Record<string, number>;
  statuses: Record<string, number>;
  tags: Record<string, number>;
  graded: number;
  sorts: string[];
  grades: string[];
  labels: string[];
  mime: string;
}

export interface Filters {
  search: string;
  model: string;
  status: string;
  grade: string;
  gradeMin: string;
  tags: string[];
  sort: string;
  order: "asc" | "desc";
}
