// Opening the district server's sign-in page in the computer's own browser (a viewer whose
// district signs in with Google or Microsoft). The desktop window never leaves Rollcall's own
// pages, so it asks the app (src-tauri/src/server_sign_in.rs); a browser tab opens a new one.

import { invoke } from "@tauri-apps/api/core";
import { inDesktopWindow } from "../reports/saveReport";

/** Opens `url` in the browser; `false` when it could not be opened here (a blocked pop-up). */
export async function openInBrowser(url: string, w: Window | undefined = typeof window === "undefined" ? undefined : window): Promise<boolean> {
  if (inDesktopWindow(w)) {
    await invoke("open_server_sign_in", { url });
    return true;
  }
  return w?.open(url, "_blank", "noopener") !== null;
}
