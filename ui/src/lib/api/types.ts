// The shapes of the local API (docs/local-api.md). All JSON is camelCase; times are
// milliseconds since the Unix epoch; dates are `YYYY-MM-DD`.
//
// Everything the server sends is generated from its Rust types into ./generated (regenerate
// with `cargo run -p rollcall-server --bin gen-ts`; `cargo test` fails while they are stale)
// and re-exported here. This file keeps only what is not generated yet: the bodies the UI
// sends, and the UI's own constants.

import type {
  Role,
  ConnectionTest,
  ConnectionView,
  DeliveryOutcome,
  TunnelProvider,
  TunnelSettings as TunnelSettingsSent,
} from "./generated";

export type * from "./generated";

/** Every delivery outcome, in the order the Deliveries view offers them. */
export const DELIVERY_OUTCOMES = [
  "applied",
  "superseded",
  "duplicate",
  "ignored",
  "conflict",
  "rejected",
] as const satisfies readonly DeliveryOutcome[];

// A compile error here means the server has an outcome the list above lacks.
type MissingOutcome = Exclude<DeliveryOutcome, (typeof DELIVERY_OUTCOMES)[number]>;
const everyOutcomeListed: MissingOutcome extends never ? true : never = true;
void everyOutcomeListed;

/** PUT /api/settings/webhook. */
export type WebhookSettings = {
  secret: string | null;
  keyEncoding: "text" | "base64";
  basicAuth: { username: string; password: string } | null;
};

/** The saved connection; the token itself is never sent back. */
export type DreamClassSettings = ConnectionView;

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

/** POST /api/dreamclass/test. */
export type DreamClassTestResult = ConnectionTest;

type KeysOfAny<T> = T extends unknown ? keyof T : never;
type FieldOfAny<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/**
 * GET /api/settings/tunnel, as the form reads it: the generated union of one shape per
 * provider, flattened so every provider's fields can be read (absent for another provider).
 * Built from the generated type, so a field renamed in Rust still breaks this build.
 */
export type TunnelSettings = { provider: TunnelProvider } & {
  [K in Exclude<KeysOfAny<TunnelSettingsSent>, "provider">]?: FieldOfAny<TunnelSettingsSent, K>;
};

/** PUT /api/settings/tunnel. Absent secrets keep the saved ones. */
export type TunnelSettingsBody =
  | { provider: "none" }
  | { provider: "manual"; publicUrl: string }
  | { provider: "bore"; server: string; port?: number; secret?: string }
  | { provider: "ngrok"; authtoken?: string; domain?: string }
  | { provider: "cloudflare"; binary?: string };

/** The reports `GET /api/export/{kind}.csv` offers (a part of the address, not a body). */
export type ExportKind = "attendance" | "changes" | "students" | "classes" | "courses" | "lessons-not-taken";

/** The first administrator (`POST /api/setup`). */
export type SetupForm = { setupKey: string; username: string; displayName: string; password: string };

/** A new person (`POST /api/people`); `schools` null: every school. */
export type NewPerson = {
  username: string;
  displayName: string;
  role: Role;
  schools: string[] | null;
  password: string;
};

/** What an administrator changes of a person (`PUT /api/people/{id}`). */
export type PersonChange = { displayName: string; role: Role; schools: string[] | null; disabled: boolean };

/** A school to add (`POST /api/schools`). */
export type SchoolForm = {
  id: string;
  name: string;
  tenant: string;
  secret: string | null;
  keyEncoding?: "text" | "base64";
  basicAuth?: { username: string; password: string } | null;
  /** The school's own DreamClass API token and address (optional). */
  apiToken?: string | null;
  apiBaseUrl?: string | null;
};

/** `PUT /api/schools/{id}/dreamclass`: `token` null keeps the saved one, "" removes it;
 * `baseUrl` null or "": the address in Settings > DreamClass. */
export type SchoolApiForm = { token: string | null; baseUrl: string | null };
