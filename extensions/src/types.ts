// Shapes of the server extension's JSON (workbench_jupyterlab/api.py) and of the trajectory MIME
// payload (workbench/display/_bundles.py: trajectory_json). They are generated from the Python
// declarations in workbench/documents/_payloads.py (rest.generated.ts, `python -m
// workbench.documents`); records shared with the widgets (segments, hits, history entries,
// annotation state) are declared once in workbench/documents/_records.py.

import type {
  AnnotationReply,
  DocumentState,
  HistoryEntry,
  HitInfo,
  ListPage,
  ListRow,
  Message,
  SegmentInfo,
  StoreSummary,
  TrajectoryData,
  TrajectoryDocument,
  TrajectoryPayload,
} from "./rest.generated";

export const MIME = "application/vnd.workbench.trajectory+json";

export type { AnnotationReply, HistoryEntry, HitInfo, Message, SegmentInfo, TrajectoryData };
export type Payload = TrajectoryPayload;
export type AnnotationState = DocumentState;
export type TrajectoryDoc = TrajectoryDocument;
export type Row = ListRow;
export type Page = ListPage;
export type StoreInfo = StoreSummary;

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
