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
