// One shared "now" for every relative time on screen, ticking every 15 s: one timer for the
// whole window instead of one per row.

let now = $state(Date.now());

setInterval(() => {
  now = Date.now();
}, 15_000);

export function currentTime(): number {
  return now;
}
