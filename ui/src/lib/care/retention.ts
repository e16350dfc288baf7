/** The retention field as typed → days to save, or a sentence saying what is wrong. */
export function parseRetentionDays(text: string): { days: number } | { problem: string } {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { problem: "Enter a whole number of days, or 0 to keep everything." };
  const days = Number(trimmed);
  if (days > 36_500) return { problem: "Choose at most 36500 days (100 years), or 0 to keep everything." };
  return { days };
}

/** What saving did, in a sentence. */
export function retentionSavedMessage(days: number, purged: number): string {
  const kept = days === 0 ? "Raw deliveries are kept forever." : `Raw deliveries are kept for ${days} day${days === 1 ? "" : "s"}.`;
  if (purged === 0) return `Saved. ${kept}`;
  return `Saved. ${kept} ${purged} older deliver${purged === 1 ? "y was" : "ies were"} deleted; attendance and its history are kept.`;
}
