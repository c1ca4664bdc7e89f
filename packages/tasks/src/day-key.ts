const formats = new Map<string, Intl.DateTimeFormat>();

/** The calendar day of `epochMs` in `timeZone`, as `YYYY-MM-DD`: the key of the daily budget row. */
export function dayKey(epochMs: number, timeZone: string): string {
  let format = formats.get(timeZone);
  if (format === undefined) {
    // en-CA formats dates as YYYY-MM-DD
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    formats.set(timeZone, format);
  }
  return format.format(epochMs);
}

/** The first epoch ms of the day after `epochMs` in `timeZone`. */
export function nextDayStart(epochMs: number, timeZone: string): number {
  const today = dayKey(epochMs, timeZone);
  // days are 23 to 25 hours long; step by the hour to the first instant of another day
  let probe = epochMs + 3_600_000 - (epochMs % 3_600_000);
  while (dayKey(probe, timeZone) === today) probe += 3_600_000;
  // back off to the exact minute the day changed (zones change on whole minutes)
  let low = probe - 3_600_000;
  while (probe - low > 60_000) {
    const mid = low + Math.floor((probe - low) / 120_000) * 60_000;
    if (dayKey(mid, timeZone) === today) low = mid;
    else probe = mid;
  }
  return probe;
}
