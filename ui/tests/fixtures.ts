import type { Change } from "../src/lib/api/types";

/** A change with sensible defaults; tests override what they are about. */
export function change(seq: number, over: Partial<Change> = {}): Change {
  return {
    seq,
    recordedAt: 1_750_000_000_000 + seq * 1000,
    source: "webhook",
    requestId: `req-${seq}`,
    eventType: "ATTENDANCE_UPDATED",
    eventTs: 1_750_000_000_000 + seq * 1000,
    tenant: "my-school",
    attendanceId: 50 + seq,
    date: "2025-06-19",
    kind: "SESSION",
    classId: 34,
    courseId: 40,
    studentPeriodId: 4,
    statusBefore: 5,
    statusAfter: 6,
    commentBefore: "",
    commentAfter: "",
    ...over,
  };
}

export function seqs(rows: readonly Change[]): number[] {
  return rows.map((r) => r.seq);
}
