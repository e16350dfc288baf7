// The shapes of the local API (docs/local-api.md). All JSON is camelCase; times are
// milliseconds since the Unix epoch; dates are `YYYY-MM-DD`.

export type ChangeSource = "webhook" | "recovered";

export type Change = {
  seq: number;
  recordedAt: number;
  source: ChangeSource;
  requestId: string;
  eventType: "ATTENDANCE_CREATED" | "ATTENDANCE_UPDATED" | "ATTENDANCE_DELETED" | string;
  eventTs: number;
  tenant: string;
  attendanceId: number;
  date: string;
  /** "SESSION" (per lesson) or a daily kind. */
  kind: string;
  classId: number;
  courseId: number;
  studentPeriodId: number;
  /** null: the record did not exist, or was deleted. */
  statusBefore: number | null;
  /** null: this change deleted the record. */
  statusAfter: number | null;
  commentBefore: string | null;
  commentAfter: string | null;
};

export type ChangePage = { changes: Change[]; lastSeq: number };

export type DeliveryOutcome =
  | "applied"
  | "superseded"
  | "duplicate"
  | "ignored"
  | "conflict"
  | "rejected";

export const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = [
  "applied",
  "superseded",
  "duplicate",
  "ignored",
  "conflict",
  "rejected",
];

export type DeliveryRow = {
  seq: number;
  receivedAt: number;
  requestId: string | null;
  eventType: string | null;
  tenant: string | null;
  outcome: DeliveryOutcome;
  status: number;
  reason: string | null;
  body: string | null;
  bodyBytes: number;
};

/** The tunnel that gives DreamClass a public address (crates/rollcall-tunnel, TunnelState). */
export type TunnelState =
  | { state: "off" }
  | { state: "starting"; provider: string }
  | { state: "online"; provider: string; publicUrl: string; webhookUrl: string; notice?: string }
  | { state: "reconnecting"; provider: string; attempt: number; lastError: string }
  | { state: "failed"; provider: string; reason: string };

export type Status = {
  version: string;
  webhookUrl: string;
  /** A public address for DreamClass, once the app offers one (not in the API doc yet). */
  publicUrl?: string | null;
  /** The tunnel's state, if the server reports it (not in the API doc yet). */
  tunnel?: TunnelState | null;
  uiUrl: string;
  secretConfigured: boolean;
  basicAuthConfigured: boolean;
  allowUnsigned: boolean;
  lastChangeSeq: number;
  lastDeliveryAt: number | null;
  deliveryCounts: Record<string, number>;
  storageFailing: boolean;
  rejectionsDropped: number;
  startedAt: number;
};

export type BoardGroup = {
  id: number;
  total: number;
  /** Keyed by status id. */
  counts: Record<string, number>;
  lastUpdate: number;
};

export type Board = { date: string; byClass: BoardGroup[]; byCourse: BoardGroup[] };

export type StatusCategory = "present" | "absent" | "late" | "excused" | "other";

export type Reference = {
  statuses: { id: number; name: string; category: StatusCategory | string }[];
  students: { studentPeriodId: number; name: string }[];
  classes: { id: number; name: string }[];
  courses: { id: number; name: string }[];
};

export type TestEventResult = { ok: boolean; status: number; message: string };

/** GET /api/settings: secrets are never sent back. */
export type Settings = {
  secretConfigured: boolean;
  basicAuthUsername: string | null;
  allowUnsigned: boolean;
  notifyStatusIds: number[];
};

export type WebhookSettings = {
  secret: string | null;
  keyEncoding: "text" | "base64";
  basicAuth: { username: string; password: string } | null;
};
