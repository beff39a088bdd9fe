/**
 * Timestamps as the platform writes them: Python's `datetime.now().isoformat()` of a naive time,
 * e.g. `2025-06-01T12:34:56.123000`: no timezone, microseconds only when not zero
 * (`data_api.py:144-145`). stelar_client subtracts such values from naive datetimes, so a `Z`
 * or an offset breaks it. The local KLMS writes UTC (a cluster's pods run in UTC).
 */

/** `date` (default now) as a naive ISO timestamp in UTC, Python `isoformat()` style. */
export function isoNow(date: Date = new Date()): string {
  const base = date.toISOString().slice(0, 19);
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${String(ms * 1000).padStart(6, "0")}`;
}
