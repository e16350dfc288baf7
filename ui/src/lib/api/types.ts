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

/** The latest self-check of the public address: a signed probe sent to itself through it. */
export type Reachability =
  | { status: "waitingForTunnel" }
  | { status: "checking"; publicUrl: string }
  | { status: "reachable"; publicUrl: string; roundTripMs: number; checkedAtMs: number; message: string }
  | { status: "unreachable"; publicUrl: string; kind: string; reason: string; checkedAtMs: number };

/** Whether DreamClass must be given a new webhook URL. `message` may be absent. */
export type UrlNotice =
  | { kind: "unchanged" }
  | { kind: "first"; webhookUrl: string; message?: string }
  | { kind: "changed"; previousWebhookUrl: string; webhookUrl: string; message?: string };

export type Status = {
  version: string;
  /** The webhook listener's own (local) address. */
  webhookUrl: string;
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
  /** Absent on servers that have no tunnel yet: read as off. */
  tunnel?: TunnelState | null;
  /** null (or absent) when there is no public URL to check. */
  reachability?: Reachability | null;
  /** null (or absent) when there is no public URL. */
  urlNotice?: UrlNotice | null;
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
  /** Days raw deliveries are kept (0: forever); absent on older versions. */
  deliveryRetentionDays?: number;
  /** Settings chosen by a flag or ROLLCALL_* variable at start; absent on older versions. */
  overrides?: SettingOverride[];
};

/** A setting chosen when Rollcall was started, which the Settings screen cannot change. */
export type SettingOverride = {
  field:
    | "webhookSecret"
    | "keyEncoding"
    | "basicAuth"
    | "allowUnsigned"
    | "dreamclassBaseUrl"
    | "dreamclassToken"
    | "dreamclassTenant"
    | "tunnel";
  /** What set it, e.g. ROLLCALL_TUNNEL. */
  by: string;
  /** "Set by ROLLCALL_TUNNEL when Rollcall was started; change it there." */
  message: string;
};

/** GET/PUT /api/settings/reports: the thresholds of reports and alerts. */
export type ReportThresholds = {
  /** A share between 0 and 1: 0.1 means absent from 10% of lessons or more. */
  chronicThreshold: number;
  /** Absences in one day that raise an alert for a student. */
  absencesPerDay: number;
  /** Days up to today that chronic-absence alerts look at. */
  termDays: number;
};

export type WebhookSettings = {
  secret: string | null;
  keyEncoding: "text" | "base64";
  basicAuth: { username: string; password: string } | null;
};

/** GET /api/dreamclass: how the API connection is doing. */
export type RecoveryReport = {
  datesChecked: string[];
  recordsSeen: number;
  recovered: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  keptNewer: number;
  errors: string[];
  notes: string[];
  /** One sentence for the user. */
  message: string;
};

export type DreamClassState = {
  configured: boolean;
  lastSuccessAt: number | null;
  lastAttemptAt: number | null;
  error: string | null;
  errorCode: string | null;
  lastRecovery: RecoveryReport | null;
  pendingGaps: number;
};

/** The saved connection; the token itself is never sent back. */
export type DreamClassSettings = {
  baseUrl: string;
  tenant: string;
  authHeader: string;
  authPrefix: string;
  tenantHeader: string;
  schoolPeriodId: number | null;
  tokenConfigured: boolean;
};

export type DreamClassOverview = { state: DreamClassState; settings: DreamClassSettings };

/** PUT /api/settings/dreamclass and POST /api/dreamclass/test. An absent token keeps the saved one. */
export type DreamClassSettingsBody = {
  baseUrl?: string;
  token?: string;
  tenant?: string;
  authHeader?: string;
  authPrefix?: string;
  tenantHeader?: string;
  schoolPeriodId?: number;
};

export type DreamClassTestResult =
  | {
      ok: true;
      message: string;
      summary?: { students: number; classes: number; courses: number; statuses: string[]; schoolPeriodName?: string | null };
    }
  | { ok: false; error: string; message: string };

export type TunnelProvider = "none" | "manual" | "bore" | "ngrok" | "cloudflare";

/** GET /api/settings/tunnel: secrets are never sent back, only whether they are set. */
export type TunnelSettings = {
  provider: TunnelProvider;
  publicUrl?: string | null;
  server?: string | null;
  port?: number | null;
  secretConfigured?: boolean;
  domain?: string | null;
  authtokenConfigured?: boolean;
  binary?: string | null;
};

/** PUT /api/settings/tunnel. Absent secrets keep the saved ones. */
export type TunnelSettingsBody =
  | { provider: "none" }
  | { provider: "manual"; publicUrl: string }
  | { provider: "bore"; server: string; port?: number; secret?: string }
  | { provider: "ngrok"; authtoken?: string; domain?: string }
  | { provider: "cloudflare"; binary?: string };

export type ExportKind = "attendance" | "changes" | "students" | "classes" | "courses";

/** GET /api/reports/summary. Rates are fractions (0.93 = 93 %). */
export type ReportSummary = {
  byClass: { id: number; name: string; sessions: number; present: number; absent: number; late: number; excused: number; rate: number }[];
  byDay: { date: string; absent: number; sessions: number }[];
  chronic: { studentPeriodId: number; name: string; sessions: number; absent: number; rate: number }[];
  /** Share of sessions absent from which a student counts as chronically absent. */
  threshold: number;
};

export type AlertKind = "absences_today" | "chronic" | string;

export type Alert = { at: number; kind: AlertKind; studentPeriodId: number; name: string; message: string };
