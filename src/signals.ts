/**
 * Signals in stage processes: SIGINT/SIGTERM/SIGHUP set a flag in the C shim
 * (no SA_RESTART, so blocking read/futex return EINTR) and every loop calls
 * checkSignals(), which throws Interrupted; the stage then detaches and exits
 * 130 (SIGINT) or 143 (SIGTERM/SIGHUP). SIGPIPE is ignored: EPIPE is handled.
 */
import { shim } from "./native/shim";
import { ShmimgError } from "./errors";

export class Interrupted extends ShmimgError {
  constructor(readonly signal: number) {
    super(`interrupted by ${signal === 2 ? "SIGINT" : signal === 15 ? "SIGTERM" : `signal ${signal}`}`, signal === 2 ? 130 : 143);
    // Under run the supervisor sent it and reports for the whole pipeline.
    this.secondary = true;
  }
}

let installed = false;
export function installSignalFlags(): void {
  if (installed) return;
  installed = true;
  shim.shim_signals_install();
}

export function checkSignals(): void {
  const s = shim.shim_signal_pending();
  if (s !== 0) throw new Interrupted(s);
}
