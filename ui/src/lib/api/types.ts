// The shapes of the local API (docs/local-api.md). All JSON is camelCase; times are
// milliseconds since the Unix epoch; dates are `YYYY-MM-DD`.
//
// Everything the server sends is generated from its Rust types into ./generated (regenerate
// with `cargo run -p rollcall-server --bin gen-ts`; `cargo test` fails while they are stale)
// and re-exported here. This file keeps only what is not generated yet: the bodies the UI
// sends, the settings views the server still builds by hand, and the UI's own constants.

import type {
  ConnectionTest,
  DeliveryOutcome,
  DreamClassState,
  TunnelProvider,
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
export type DreamClassSettings = {
  baseUrl: string;
  tenant: string;
  authHeader: string;
  authPrefix: string;
  tenantHeader: string;
  schoolPeriodId: number | null;
  tokenConfigured: boolean;
};

/** GET /api/dreamclass: how the API connection is doing, and its settings. */
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

/** POST /api/dreamclass/test. */
export type DreamClassTestResult = ConnectionTest;

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

/** The reports `GET /api/export/{kind}.csv` offers (a part of the address, not a body). */
export type ExportKind = "attendance" | "changes" | "students" | "classes" | "courses";
