// Hash routes, so the static build works from any server path and in the desktop window.
// A route is plain data; the feed's filters live in its query so that the board can link to
// a filtered feed and the back button restores it.

import type { DeliveryOutcome } from "../api/types";
import { DELIVERY_OUTCOMES } from "../api/types";
import { filterFromParams, filterToParams, type ServerFilter } from "../feed/filters";
import { reportFilterFromParams, reportFilterToParams, type ReportFilter } from "../reports/reportQuery";

export type FeedRoute = { view: "feed"; filter: ServerFilter; student: string };

export type Route =
  | FeedRoute
  | { view: "board"; date: string | null }
  | { view: "record"; tenant: string; attendanceId: number }
  | { view: "deliveries"; outcome: DeliveryOutcome | null }
  | { view: "reports"; filter: ReportFilter }
  | { view: "setup" }
  | { view: "settings" }
  | { view: "people" };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [path = "", query = ""] = raw.split("?", 2);
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter((p) => p !== "");
  switch (parts[0]) {
    case "board":
      return { view: "board", date: params.get("date") || null };
    case "record": {
      const tenant = parts[1] === undefined ? "" : decodeURIComponent(parts[1]);
      const id = Number(parts[2]);
      if (tenant !== "" && Number.isInteger(id)) return { view: "record", tenant, attendanceId: id };
      return feedRoute(new URLSearchParams());
    }
    case "deliveries": {
      const o = params.get("outcome");
      const outcome = (DELIVERY_OUTCOMES as readonly string[]).includes(o ?? "") ? (o as DeliveryOutcome) : null;
      return { view: "deliveries", outcome };
    }
    case "reports":
      return { view: "reports", filter: reportFilterFromParams(params) };
    case "setup":
      return { view: "setup" };
    case "settings":
      return { view: "settings" };
    case "people":
      return { view: "people" };
    default:
      return feedRoute(params);
  }
}

function feedRoute(params: URLSearchParams): FeedRoute {
  return { view: "feed", filter: filterFromParams(params), student: params.get("student") ?? "" };
}

function withQuery(path: string, params: Record<string, string>): string {
  const q = new URLSearchParams(params).toString();
  return q ? `${path}?${q}` : path;
}

export function routeHash(route: Route): string {
  switch (route.view) {
    case "feed": {
      const params = filterToParams(route.filter);
      if (route.student.trim() !== "") params["student"] = route.student;
      return withQuery("#/feed", params);
    }
    case "board":
      return withQuery("#/board", route.date ? { date: route.date } : {});
    case "record":
      return `#/record/${encodeURIComponent(route.tenant)}/${route.attendanceId}`;
    case "deliveries":
      return withQuery("#/deliveries", route.outcome ? { outcome: route.outcome } : {});
    case "reports":
      return withQuery("#/reports", reportFilterToParams(route.filter));
    case "setup":
      return "#/setup";
    case "settings":
      return "#/settings";
    case "people":
      return "#/people";
  }
}
