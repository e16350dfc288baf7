// The local API, one method per endpoint. Same origin, cookie auth: the server set the
// `rollcall_token` cookie when this window was opened (or the session cookie when a person
// signed in), so no token is handled here; changes carry the session's CSRF token.

import { errorFromResponse, notAnsweringError } from "./errors";
import { csrfHeader, signInEnded } from "./signIn";
import type {
  Alert,
  AuditPage,
  Board,
  PeopleList,
  SchoolAdded,
  SchoolApiForm,
  SchoolForm,
  SchoolList,
  SchoolPurged,
  SchoolRemoved,
  SchoolView,
  PersonAccount,
  PersonChange,
  NewPerson,
  SetupForm,
  SignInStatus,
  NotTakenView,
  DreamClassOverview,
  DreamClassSettingsBody,
  DreamClassTestResult,
  Reachability,
  RecoveryReport,
  ReportSummary,
  ReportThresholds,
  DigestForm,
  DigestSettingsView,
  DigestTestAnswer,
  StatusCategory,
  TunnelSettings,
  TunnelSettingsBody,
  ChangePage,
  Change,
  DeliveryOutcome,
  DeliveryRow,
  ForwardingStatus,
  RecheckReport,
  Reference,
  Settings,
  Status,
  TestEventResult,
  ViewerOpenId,
  ViewerOpenIdStart,
  ViewerState,
  ViewerSwitch,
  WebhookSettings,
} from "./types";
import { filterToParams, type ServerFilter } from "../feed/filters";
import type { RecheckForm } from "../deliveries/recheck";
import { summaryParams, type ReportFilter } from "../reports/reportQuery";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

type Params = Record<string, string | number | null | undefined>;

function withQuery(path: string, params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export class Api {
  constructor(private readonly fetchFn: FetchLike = (i, init) => fetch(i, init)) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(path, {
        method,
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...csrfHeader(method),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw notAnsweringError();
    }
    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (error.code === "sign_in_required") signInEnded();
      throw error;
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** The schools received here, each at its own webhook address (never a secret). */
  schools(): Promise<SchoolList> {
    return this.request("GET", "/api/schools");
  }

  /** Adds a school; it is received from the next delivery on, without a restart. */
  addSchool(form: SchoolForm): Promise<SchoolAdded> {
    return this.request("POST", "/api/schools", form);
  }

  /** Stops receiving a school; its data is kept until it is purged. */
  removeSchool(id: string): Promise<SchoolRemoved> {
    return this.request("DELETE", `/api/schools/${encodeURIComponent(id)}`);
  }

  /** Sets a school's own DreamClass API connection; names and missed changes use it at once. */
  setSchoolApi(id: string, form: SchoolApiForm): Promise<SchoolView> {
    return this.request("PUT", `/api/schools/${encodeURIComponent(id)}/dreamclass`, form);
  }

  /** Deletes a removed school's data; `confirm` is its name, typed exactly. */
  purgeSchool(id: string, confirm: string): Promise<SchoolPurged> {
    return this.request("POST", `/api/schools/${encodeURIComponent(id)}/purge`, { confirm });
  }

  /** How this Rollcall is opened and who is signed in. */
  signInStatus(): Promise<SignInStatus> {
    return this.request("GET", "/api/session");
  }

  signIn(username: string, password: string): Promise<SignInStatus> {
    return this.request("POST", "/api/sign-in", { username, password });
  }

  /** The first administrator, with the setup key Rollcall printed on the server. */
  setUp(form: SetupForm): Promise<SignInStatus> {
    return this.request("POST", "/api/setup", form);
  }

  signOut(): Promise<unknown> {
    return this.request("POST", "/api/sign-out");
  }

  /** From now on this computer shows `server`'s attendance; Rollcall starts again. */
  viewerConnect(server: string, certificate: string | null = null): Promise<ViewerSwitch> {
    return this.request("POST", "/api/viewer/connect", { server, certificate });
  }

  /** This computer receives its own webhooks again; Rollcall starts again. */
  viewerDisconnect(): Promise<ViewerSwitch> {
    return this.request("POST", "/api/viewer/disconnect");
  }

  /** Signs this computer's copy in to the Rollcall server it shows (a viewer). */
  viewerSignIn(username: string, password: string): Promise<ViewerState> {
    return this.request("POST", "/api/viewer/sign-in", { username, password });
  }
  /** The provider the viewed server also signs people in with ("Google"), if any. */
  viewerOpenId(): Promise<ViewerOpenId> {
    return this.request("GET", "/api/viewer/sign-in/openid");
  }

  /** Begins a sign-in with the provider: the address to open in the computer's browser. */
  viewerBeginOpenId(): Promise<ViewerOpenIdStart> {
    return this.request("POST", "/api/viewer/sign-in/openid");
  }


  /** Ends the viewer's session on its server; the copy stays until another person signs in. */
  viewerSignOut(): Promise<ViewerState> {
    return this.request("POST", "/api/viewer/sign-out");
  }

  people(): Promise<PeopleList> {
    return this.request("GET", "/api/people");
  }

  addPerson(person: NewPerson): Promise<PersonAccount> {
    return this.request("POST", "/api/people", person);
  }

  changePerson(id: number, change: PersonChange): Promise<PersonAccount> {
    return this.request("PUT", `/api/people/${encodeURIComponent(String(id))}`, change);
  }

  /** A new password; it also lifts a lock and signs the person out everywhere. */
  setPassword(id: number, password: string): Promise<PersonAccount> {
    return this.request("POST", `/api/people/${encodeURIComponent(String(id))}/password`, { password });
  }

  /** Who did what, newest first, below `before` when given. */
  audit(before: number | null): Promise<AuditPage> {
    return this.request("GET", withQuery("/api/audit", { before, limit: 100 }));
  }

  status(): Promise<Status> {
    return this.request("GET", "/api/status");
  }

  /** Newest first, below `before` when given: the first screen and scrolling back. */
  latestChanges(filter: ServerFilter, before: number | null, limit: number): Promise<ChangePage> {
    return this.request("GET", withQuery("/api/changes/latest", { ...filterToParams(filter), before, limit }));
  }

  /** Oldest first, above `after`. */
  changesAfter(filter: ServerFilter, after: number, limit: number): Promise<ChangePage> {
    return this.request("GET", withQuery("/api/changes", { ...filterToParams(filter), after, limit }));
  }

  recordHistory(tenant: string, attendanceId: number): Promise<{ changes: Change[] }> {
    return this.request(
      "GET",
      `/api/records/${encodeURIComponent(tenant)}/${encodeURIComponent(String(attendanceId))}/history`,
    );
  }

  deliveries(outcome: DeliveryOutcome | null, before: number | null, limit: number): Promise<{ deliveries: DeliveryRow[] }> {
    return this.request("GET", withQuery("/api/deliveries", { outcome, before, limit }));
  }

  /** "Re-check with the current secret": one bounded run over deliveries refused for the Secret. */
  recheckDeliveries(form: RecheckForm): Promise<RecheckReport> {
    return this.request("POST", "/api/deliveries/recheck", form);
  }

  /** Forwarding of accepted deliveries: the setting (no secret) and how it goes. */
  forwarding(): Promise<ForwardingStatus> {
    return this.request("GET", "/api/forwarding");
  }

  /** Empty url: off. A secret replaces the saved one; `clearSecret` removes it. */
  saveForwarding(body: { url: string | null; secret?: string; clearSecret?: boolean }): Promise<unknown> {
    return this.request("PUT", "/api/settings/forwarding", body);
  }

  /** The day's board; of one school when `tenant` is given (the school picker). */
  board(date: string | null, tenant: string | null = null): Promise<Board> {
    return this.request("GET", withQuery("/api/board", { date, tenant }));
  }

  reference(): Promise<Reference> {
    return this.request("GET", "/api/reference");
  }

  sendTestEvent(): Promise<TestEventResult> {
    return this.request("POST", "/api/test-event");
  }

  settings(): Promise<Settings> {
    return this.request("GET", "/api/settings");
  }

  saveWebhookSettings(settings: WebhookSettings): Promise<unknown> {
    return this.request("PUT", "/api/settings/webhook", settings);
  }

  /** How long raw deliveries are kept (0: forever); what is older is deleted at once. */
  saveRetention(days: number): Promise<{ ok: boolean; purged: number }> {
    return this.request("PUT", "/api/settings/retention", { days });
  }

  /** The thresholds of reports and alerts in force: every school's, or one school's (its
   * own, or every school's it uses). */
  reportThresholds(school?: string): Promise<ReportThresholds> {
    return this.request("GET", `/api/settings/reports${schoolQuery(school)}`);
  }

  /** Saves the thresholds (of every school, or one school's own); used at once. */
  saveReportThresholds(thresholds: ReportThresholds, school?: string): Promise<{ ok: boolean; settings: ReportThresholds }> {
    return this.request("PUT", `/api/settings/reports${schoolQuery(school)}`, thresholds);
  }

  /** One school goes back to every school's thresholds. */
  useEverySchoolsThresholds(school: string): Promise<{ ok: boolean; settings: ReportThresholds }> {
    return this.request("DELETE", `/api/settings/reports${schoolQuery(school)}`);
  }

  /** The daily e-mail digest: its settings (no password) and status. */
  digestSettings(): Promise<DigestSettingsView> {
    return this.request("GET", "/api/settings/digest");
  }

  saveDigestSettings(body: DigestForm): Promise<DigestSettingsView> {
    return this.request("PUT", "/api/settings/digest", body);
  }

  /** "Send a test digest now" with the form as typed (not saved): a sentence either way. */
  testDigest(body: DigestForm): Promise<DigestTestAnswer> {
    return this.request("POST", "/api/digest/test", body);
  }

  /** Statuses that raise a desktop notification. */
  saveNotificationStatuses(statusIds: number[]): Promise<unknown> {
    return this.request("PUT", "/api/settings/notifications", { statusIds });
  }

  /** The DreamClass API connection: its state and settings (no token). */
  dreamClass(): Promise<DreamClassOverview> {
    return this.request("GET", "/api/dreamclass");
  }

  saveDreamClass(body: DreamClassSettingsBody): Promise<unknown> {
    return this.request("PUT", "/api/settings/dreamclass", body);
  }

  /** "Test connection" with the form as typed (not saved). */
  testDreamClass(body: DreamClassSettingsBody): Promise<DreamClassTestResult> {
    return this.request("POST", "/api/dreamclass/test", body);
  }

  /** "Check for missed changes": the given days, or the gaps in listening. */
  checkMissedChanges(range?: { from: string; to: string }): Promise<RecoveryReport> {
    return this.request("POST", "/api/dreamclass/check", range);
  }

  /** null: back to the guess from the status's name. */
  /** Statuses are per school: `tenant` says whose (without it, the DreamClass API's school). */
  setStatusCategory(statusId: number, category: StatusCategory | null, tenant?: string): Promise<unknown> {
    return this.request("PUT", `/api/statuses/${encodeURIComponent(String(statusId))}/category`, tenant === undefined ? { category } : { category, tenant });
  }

  tunnelSettings(): Promise<TunnelSettings> {
    return this.request("GET", "/api/settings/tunnel");
  }

  saveTunnelSettings(body: TunnelSettingsBody): Promise<unknown> {
    return this.request("PUT", "/api/settings/tunnel", body);
  }

  /** Probes the public address now. */
  checkTunnel(): Promise<Reachability> {
    return this.request("POST", "/api/tunnel/check");
  }

  /** The user has entered the current public webhook URL in DreamClass. */
  acknowledgeUrl(): Promise<unknown> {
    return this.request("POST", "/api/tunnel/acknowledge-url");
  }

  reportSummary(filter: ReportFilter): Promise<ReportSummary> {
    return this.request("GET", withQuery("/api/reports/summary", summaryParams(filter)));
  }

  alerts(tenant: string | null = null): Promise<{ alerts: Alert[] }> {
    return this.request("GET", withQuery("/api/alerts", { tenant }));
  }

  /** The lessons expected on the day (inferred) with no attendance yet; today when null. */
  notTaken(date: string | null, tenant: string | null = null): Promise<NotTakenView> {
    return this.request("GET", withQuery("/api/reports/not-taken", { date, tenant }));
  }
}

/** `?school=…` for one school's settings, nothing for every school's. */
function schoolQuery(school: string | undefined): string {
  return school ? `?school=${encodeURIComponent(school)}` : "";
}
