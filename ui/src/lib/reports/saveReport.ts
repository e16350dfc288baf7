// Saving a report from the desktop window: Tauri's save dialog, then a progress bar with
// Cancel, then "Show in folder". The window's page may call exactly three commands of the
// app (src-tauri/src/exports.rs); in a browser there is no such bridge and reports download.

import { Channel, invoke } from "@tauri-apps/api/core";
import type { ExportKind } from "../api/types";
import { exportFilter, type ExportOptions, type ReportFilter } from "./reportQuery";

/** What the app tells the page while it writes (ExportUpdate in exports.rs). */
export type ExportUpdate =
  | { event: "started"; job: number; fileName: string; totalRows: number }
  | { event: "progress"; rowsWritten: number; totalRows: number };

/** How a save ended (ExportOutcome in exports.rs); a failure is a rejected promise. */
export type ExportOutcome =
  | { outcome: "notSaved" }
  | { outcome: "cancelled" }
  | { outcome: "saved"; path: string; fileName: string; rows: number; bytes: number };

/** The save shown under the export buttons. */
export type SaveState =
  | { phase: "idle" }
  | { phase: "asking"; kind: ExportKind }
  | { phase: "writing"; kind: ExportKind; job: number; fileName: string; rowsWritten: number; totalRows: number; cancelling: boolean }
  | { phase: "saved"; kind: ExportKind; path: string; fileName: string; rows: number; bytes: number }
  | { phase: "cancelled"; kind: ExportKind }
  | { phase: "failed"; kind: ExportKind; message: string };

/** Whether this page runs in Rollcall's desktop window (which can save files itself). */
export function inDesktopWindow(w: object | undefined = typeof window === "undefined" ? undefined : window): boolean {
  return w !== undefined && "__TAURI_INTERNALS__" in w;
}

/** The next state after a message from the app. */
export function applyUpdate(state: SaveState, update: ExportUpdate): SaveState {
  if (state.phase !== "asking" && state.phase !== "writing") return state;
  if (update.event === "started") {
    return { phase: "writing", kind: state.kind, job: update.job, fileName: update.fileName, rowsWritten: 0, totalRows: update.totalRows, cancelling: false };
  }
  if (state.phase !== "writing") return state;
  return { ...state, rowsWritten: update.rowsWritten, totalRows: update.totalRows };
}

/** The state once the save has ended. */
export function finish(state: SaveState, outcome: ExportOutcome): SaveState {
  if (state.phase === "idle" || state.phase === "saved" || state.phase === "cancelled" || state.phase === "failed") return state;
  switch (outcome.outcome) {
    case "notSaved":
      return { phase: "idle" };
    case "cancelled":
      return { phase: "cancelled", kind: state.kind };
    case "saved":
      return { phase: "saved", kind: state.kind, path: outcome.path, fileName: outcome.fileName, rows: outcome.rows, bytes: outcome.bytes };
  }
}

export function failed(state: SaveState, error: unknown): SaveState {
  const kind = state.phase === "idle" ? "attendance" : state.kind;
  const message = typeof error === "string" && error ? error : "The report could not be saved. Try again.";
  return { phase: "failed", kind, message };
}

/** Whole percent written; 100 for an empty report. */
export function percent(rowsWritten: number, totalRows: number): number {
  if (totalRows <= 0) return 100;
  return Math.min(100, Math.floor((rowsWritten * 100) / totalRows));
}

const number = new Intl.NumberFormat("en");

function rowsWord(n: number): string {
  return `${number.format(n)} ${n === 1 ? "row" : "rows"}`;
}

/** "12,288 of 1,000,000 rows (1%)" */
export function progressText(rowsWritten: number, totalRows: number): string {
  return `${number.format(rowsWritten)} of ${rowsWord(totalRows)} (${percent(rowsWritten, totalRows)}%)`;
}

/** "1.2 MB", "640 kB", "312 bytes" */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "Saved 1,024 rows (52 kB) in rollcall-attendance-2026-11-02.csv." */
export function savedText(rows: number, bytes: number, fileName: string): string {
  return `Saved ${rowsWord(rows)} (${sizeText(bytes)}) in ${fileName}.`;
}

/** Asks where to save and writes the report there; `onUpdate` follows the writing. */
export function saveReport(
  kind: ExportKind,
  filter: ReportFilter,
  options: ExportOptions,
  onUpdate: (u: ExportUpdate) => void,
): Promise<ExportOutcome> {
  const onProgress = new Channel<ExportUpdate>();
  onProgress.onmessage = onUpdate;
  return invoke<ExportOutcome>("save_report", { report: kind, filter: exportFilter(filter), options, onProgress });
}

export function cancelExport(job: number): Promise<void> {
  return invoke<void>("cancel_export", { job });
}

export function showReportInFolder(path: string): Promise<void> {
  return invoke<void>("show_report_in_folder", { path });
}
