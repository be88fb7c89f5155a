/**
 * IPC keys derived from the pipeline name, so stages started in other shells
 * find the same objects without a key file (ftok needs one).
 *
 *   key = 0x5D000000 | (fnv1a32(uid + ":" + name) & 0x00FFFFFC) | object
 *   object: 0 raw segment, 1 processed segment, 2 semaphore set
 *
 * The fixed top byte 0x5D marks shmimg's keys in `ipcs` output; the uid keeps
 * two users' pipelines named "default" apart. A different name that hashes to
 * the same 22 bits is detected on attach (the header stores the name).
 */
export const KEY_TAG = 0x5d000000;
export const KEY_TAG_MASK = 0xff000000;

export const Obj = { RAW: 0, PROCESSED: 1, SEMS: 2 } as const;

export const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface Keys {
  raw: number;
  processed: number;
  sems: number;
}

export function keysFor(name: string, uid: number): Keys {
  const base = (KEY_TAG | (fnv1a32(`${uid}:${name}`) & 0x00fffffc)) >>> 0;
  return { raw: base | Obj.RAW, processed: base | Obj.PROCESSED, sems: base | Obj.SEMS };
}

/** True for keys in shmimg's key space (top byte 0x5D). */
export function isOurKey(key: number): boolean {
  return ((key & KEY_TAG_MASK) >>> 0) === KEY_TAG;
}

export function hexKey(key: number): string {
  return "0x" + (key >>> 0).toString(16).padStart(8, "0");
}
