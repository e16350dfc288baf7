// Settings chosen by a flag or ROLLCALL_* variable when Rollcall was started. The server
// refuses to save a different value for them, so the screen says where they were set and
// does not offer to edit them.
import type { SettingOverride, Settings } from "../api/types";

export type OverrideField = SettingOverride["field"];

/** The overrides among `fields`, in the order the server lists them. */
export function overridesAmong(settings: Partial<Pick<Settings, "overrides">> | null, fields: readonly OverrideField[]): SettingOverride[] {
  return (settings?.overrides ?? []).filter((o) => fields.includes(o.field));
}

/** Whether `field` was chosen at start. */
export function isOverridden(settings: Partial<Pick<Settings, "overrides">> | null, field: OverrideField): boolean {
  return overridesAmong(settings, [field]).length > 0;
}
