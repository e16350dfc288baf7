import { mount } from "svelte";
import "./theme.css";
import App from "./App.svelte";
import { Session } from "./lib/app/session";
import { SESSION_CONTEXT } from "./lib/app/sessionContext";

const session = new Session();
void session.start();

mount(App, {
  target: document.getElementById("app")!,
  context: new Map([[SESSION_CONTEXT, session]]),
});
