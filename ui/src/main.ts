import { mount } from "svelte";
import "./theme.css";
import App from "./App.svelte";
import SignInView from "./views/signIn/SignInView.svelte";
import { Api } from "./lib/api/client";
import { useCsrfToken, whenSignInEnds } from "./lib/api/signIn";
import type { SignInStatus } from "./lib/api/types";
import { Session } from "./lib/app/session";
import { SESSION_CONTEXT } from "./lib/app/sessionContext";

const target = document.getElementById("app")!;

/** How this Rollcall is opened; null when it does not answer (the app's banners then say so). */
async function signInStatus(): Promise<SignInStatus | null> {
  try {
    return await new Api().signInStatus();
  } catch {
    return null;
  }
}

async function boot() {
  const who = await signInStatus();
  if (who?.mode === "accounts" && !who.signedIn) {
    mount(SignInView, { target, props: { needsSetup: who.needsSetup, openid: who.openid } });
    return;
  }
  if (who?.mode === "accounts") {
    useCsrfToken(who.csrfToken);
    // The session ended (expired, signed out elsewhere, account disabled): back to sign-in.
    whenSignInEnds(() => location.reload());
  }
  const session = new Session();
  void session.start();
  mount(App, {
    target,
    props: { person: who?.person ?? null },
    context: new Map([[SESSION_CONTEXT, session]]),
  });
}

void boot();
