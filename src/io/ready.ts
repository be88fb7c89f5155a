/**
 * Waiting for a non-blocking fd (a pipe someone else set O_NONBLOCK on, e.g.
 * Bun's own stdio) to become readable or writable: poll(2) in 100 ms steps,
 * checking signals between them.
 */
import { libc } from "../native/libc";
import { checkSignals } from "../signals";

const pfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }
const POLLIN = 1;
const POLLOUT = 4;

function waitFd(fd: number, events: number): void {
  pfd[0] = fd;
  pfd[1] = events; // events in the low half, revents cleared
  while (libc.poll(pfd, 1, 100) === 0) checkSignals();
  checkSignals();
}

export const waitReadable = (fd: number) => waitFd(fd, POLLIN);
export const waitWritable = (fd: number) => waitFd(fd, POLLOUT);
