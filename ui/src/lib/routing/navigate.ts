import { routeHash, type Route } from "./routes";

/** Goes to a route. `replace` keeps the back button for real moves, not every keystroke. */
export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const hash = routeHash(route);
  if (location.hash === hash) return;
  if (options.replace) location.replace(hash);
  else location.hash = hash;
}
