/** Text of the one-line summaries that commands print at their end. */

/**
 * Frames per worker process for a summary line: each count when there were
 * few, else how many processes and min/median/max (a run whose workers were
 * killed and replaced hundreds of times would print hundreds of numbers).
 */
export function perWorkerText(perWorker: Record<string, number>): string {
  const v = Object.values(perWorker);
  if (v.length <= 8) return `[${v.join(" ")}]`;
  const s = [...v].sort((a, b) => a - b);
  return `[${v.length} processes; frames min ${s[0]} median ${s[s.length >> 1]} max ${s[s.length - 1]}]`;
}
