/**
 * Exit codes (documented in README and every --help):
 *   0 ok · 1 internal error · 2 invalid input or unavailable IPC resource
 *   3 stream incomplete · 4 a stage failed · 130/143 interrupted (SIGINT/SIGTERM)
 */
export const Exit = {
  OK: 0,
  INTERNAL: 1,
  INVALID: 2,
  INCOMPLETE: 3,
  STAGE_FAILED: 4,
  SIGPIPE: 141,
  SIGINT: 130,
  SIGTERM: 143,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit] | number;

/** An error that ends a command with a documented exit code and one `ERROR: ...` line. */
export class ShmimgError extends Error {
  /**
   * A consequence of an error another stage already reported (e.g. the
   * pipeline was aborted): under `run` (SHMIMG_QUIET) it is not printed again.
   */
  secondary = false;
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
  }
}

/** Bad input data or bad usage: exit 2. */
export class InvalidInput extends ShmimgError {
  constructor(message: string) {
    super(message, Exit.INVALID);
  }
}

/** The input ended inside a frame: exit 3. */
export class PartialFrame extends ShmimgError {
  constructor(message: string) {
    super(message, Exit.INCOMPLETE);
  }
}

/** Severity used by `run` to pick its exit code from its stages' codes. */
export function severity(code: number): number {
  switch (code) {
    case 0:
      return 0;
    case 141:
      return 1;
    case 3:
      return 2;
    case 2:
      return 3;
    case 4:
      return 4;
    case 1:
      return 5;
    case 143:
      return 6;
    case 130:
      return 7;
    default:
      return 5;
  }
}

export function mostSevere(codes: number[]): number {
  let worst = 0;
  for (const c of codes) if (severity(c) > severity(worst)) worst = c;
  return worst;
}
