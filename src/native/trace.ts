/**
 * --verbose: every IPC call with its arguments and result on stderr, like
 * strace. Wraps the entries of the libc and shim symbol tables in place, so
 * callers (which look the function up at each call) are traced and the
 * untraced path costs nothing.
 */
import { writeSync } from "node:fs";
import { errno, errnoName, libc } from "./libc";
import { shim } from "./shim";

const LIBC_IPC = ["shmget", "shmat", "shmdt", "semget", "semop", "semtimedop", "kill"] as const;
const SHIM_IPC = [
  "shim_sem_getval",
  "shim_sem_setval",
  "shim_sem_rmid",
  "shim_sem_stat",
  "shim_shm_stat",
  "shim_shm_rmid",
  "shim_futex_wait",
  "shim_futex_wake",
] as const;

function fmt(v: unknown, hex = false): string {
  if (typeof v === "number") return Number.isInteger(v) && (hex || v > 0xffffffff) ? "0x" + v.toString(16) : String(v);
  if (v === null) return "NULL";
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Int16Array) return `[${Array.from(v.subarray(0, 3)).join(",")}...]`;
    return `<${v.constructor.name}>`;
  }
  return String(v);
}

let on = false;
export function enableTrace(): void {
  if (on) return;
  on = true;
  const wrap = (table: Record<string, any>, name: string, negErrno: boolean) => {
    const f = table[name];
    table[name] = (...args: unknown[]) => {
      const r = f(...args);
      const failed = negErrno ? typeof r === "number" && r < 0 && r !== -110 && r !== -11 ? errnoName(r) : r < 0 ? errnoName(r) : "" : r === -1 ? errnoName(errno()) : "";
      writeSync(2, `[ipc ${process.pid}] ${name.replace(/^shim_/, "")}(${args.map((a, i) => fmt(a, i === 0 && name.endsWith("get"))).join(", ")}) = ${fmt(r)}${failed ? ` ${failed}` : ""}\n`);
      return r;
    };
  };
  for (const n of LIBC_IPC) wrap(libc as Record<string, any>, n, false);
  for (const n of SHIM_IPC) wrap(shim as Record<string, any>, n, true);
}
