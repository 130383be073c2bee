/**
 * The server's rate windows are sliding estimates over fixed windows aligned to the wall clock, so
 * a burst straddling a window edge can be counted a request or two short. Cases that assert an
 * exact count start their burst far enough from the next edge.
 */
export const MINUTE_MS = 60_000;

/** Waits, if needed, until at least `needMs` remain before the next `windowMs` edge. */
export async function clearOfWindowEdge(needMs: number, windowMs = MINUTE_MS): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left >= needMs) return;
  await new Promise((resolve) => setTimeout(resolve, left + 50));
}
