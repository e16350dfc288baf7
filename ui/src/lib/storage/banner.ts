// What the window says when attendance cannot be saved, by where Rollcall keeps it: this
// computer's disk (one office), or a district's database server that is down or refusing.
import type { Status } from "../api/generated";

export interface StorageBanner {
  title: string;
  text: string;
}

export function storageBanner(status: Status | null): StorageBanner | null {
  if (!status) return null;
  const server = status.database ?? "";
  if (status.databaseUnreachable) {
    return {
      title: "Rollcall cannot reach its database server right now.",
      text:
        `Changes DreamClass sends at the moment are answered "try again later", so DreamClass sends them ` +
        `again and nothing is lost. Ask your IT team to check the database server (${server}); Rollcall ` +
        `reconnects by itself and this message goes away.`,
    };
  }
  if (!status.storageFailing) return null;
  if (status.database) {
    return {
      title: "Rollcall cannot save attendance changes right now.",
      text:
        `The database server (${server}) refuses to save them, so DreamClass is told to send them again ` +
        `later. Ask your IT team to check the database server; Rollcall resumes by itself.`,
    };
  }
  return {
    title: "Rollcall cannot save attendance changes right now.",
    text:
      "Changes DreamClass sends at the moment are refused and not kept. Check that this computer's disk " +
      "is not full, then close and reopen Rollcall. If this message stays, call whoever looks after this " +
      "computer.",
  };
}
