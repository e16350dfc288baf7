import { describe, expect, it } from "vitest";
import { isOverridden, overridesAmong } from "../src/lib/settings/overrides";
import type { SettingOverride } from "../src/lib/api/types";

const tunnel: SettingOverride = {
  field: "tunnel",
  by: "ROLLCALL_TUNNEL",
  message: "Set by ROLLCALL_TUNNEL when Rollcall was started; change it there.",
};
const token: SettingOverride = { field: "dreamclassToken", by: "ROLLCALL_DREAMCLASS_TOKEN", message: "Set by ROLLCALL_DREAMCLASS_TOKEN when Rollcall was started; change it there." };

describe("settings chosen at start", () => {
  it("picks those of one section", () => {
    const settings = { overrides: [tunnel, token] };
    expect(overridesAmong(settings, ["tunnel"])).toEqual([tunnel]);
    expect(overridesAmong(settings, ["dreamclassBaseUrl", "dreamclassToken"])).toEqual([token]);
    expect(overridesAmong(settings, ["webhookSecret"])).toEqual([]);
    expect(isOverridden(settings, "dreamclassToken")).toBe(true);
    expect(isOverridden(settings, "dreamclassTenant")).toBe(false);
  });

  it("treats an older server, without the list, as nothing overridden", () => {
    expect(overridesAmong({}, ["tunnel"])).toEqual([]);
    expect(overridesAmong(null, ["tunnel"])).toEqual([]);
  });
});
