import { describe, expect, it } from "vitest";
import { exportHref, exportQuery } from "../src/lib/reports/reportQuery";
import {
  applyUpdate,
  failed,
  finish,
  inDesktopWindow,
  percent,
  progressText,
  savedText,
  sizeText,
  type SaveState,
} from "../src/lib/reports/saveReport";

const asking: SaveState = { phase: "asking", kind: "attendance" };

describe("saving a report from the desktop window", () => {
  it("knows the desktop window by Tauri's bridge", () => {
    expect(inDesktopWindow({ __TAURI_INTERNALS__: {} })).toBe(true);
    expect(inDesktopWindow({})).toBe(false);
    expect(inDesktopWindow(undefined)).toBe(false);
  });

  it("follows the app's messages from the dialog to the end", () => {
    let s = applyUpdate(asking, { event: "started", job: 7, fileName: "november.csv", totalRows: 3000 });
    expect(s).toEqual({ phase: "writing", kind: "attendance", job: 7, fileName: "november.csv", rowsWritten: 0, totalRows: 3000, cancelling: false });
    s = applyUpdate(s, { event: "progress", rowsWritten: 1024, totalRows: 3000 });
    expect(s.phase === "writing" && s.rowsWritten).toBe(1024);
    s = finish(s, { outcome: "saved", path: "/home/office/november.csv", fileName: "november.csv", rows: 3000, bytes: 250_000 });
    expect(s).toEqual({ phase: "saved", kind: "attendance", path: "/home/office/november.csv", fileName: "november.csv", rows: 3000, bytes: 250_000 });
    // A late message changes nothing once saved.
    expect(applyUpdate(s, { event: "progress", rowsWritten: 1, totalRows: 3000 })).toBe(s);
  });

  it("closing the dialog is not an error, cancelling says so, failures keep the sentence", () => {
    expect(finish(asking, { outcome: "notSaved" })).toEqual({ phase: "idle" });
    const writing = applyUpdate(asking, { event: "started", job: 1, fileName: "a.csv", totalRows: 10 });
    expect(finish(writing, { outcome: "cancelled" })).toEqual({ phase: "cancelled", kind: "attendance" });
    expect(failed(writing, "Rollcall could not save the report in /x: the disk is full.")).toEqual({
      phase: "failed",
      kind: "attendance",
      message: "Rollcall could not save the report in /x: the disk is full.",
    });
    expect(failed(writing, new Error("internal"))).toEqual({ phase: "failed", kind: "attendance", message: "The report could not be saved. Try again." });
  });

  it("writes progress and sizes for people", () => {
    expect(percent(0, 0)).toBe(100);
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 3)).toBe(100);
    expect(progressText(12_288, 1_000_000)).toBe("12,288 of 1,000,000 rows (1%)");
    expect(progressText(1, 1)).toBe("1 of 1 row (100%)");
    expect(sizeText(1)).toBe("1 byte");
    expect(sizeText(999)).toBe("999 bytes");
    expect(sizeText(52_400)).toBe("52 kB");
    expect(sizeText(1_250_000)).toBe("1.3 MB");
    expect(savedText(1024, 52_400, "r.csv")).toBe("Saved 1,024 rows (52 kB) in r.csv.");
  });

  it("saves with the download's query string", () => {
    const f = { from: "2026-11-02", to: "2026-11-06", classId: 34 };
    expect(exportQuery(f, true, "el-GR")).toBe("from=2026-11-02&to=2026-11-06&classId=34&excel=true&separator=%3B");
    expect(exportHref("students", f, false, "en-GB")).toBe(`/api/export/students.csv?${exportQuery(f, false, "en-GB")}`);
  });
});
