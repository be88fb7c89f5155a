/*
 * shmimg native shim: the few calls whose arguments are kernel structs or
 * unions (semctl's union semun, shmctl's struct shmid_ds, futex, sigaction).
 * Every function returns >= 0 on success and -errno on failure, so the
 * TypeScript side never reads errno after the fact and never guesses a
 * struct layout: kernel structs are flattened into fixed-width int64 arrays.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* glibc leaves union semun to the caller (semctl(2)). */
union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
  struct seminfo *__buf;
};

/* ---- semaphores ---------------------------------------------------------- */

int shim_sem_getval(int semid, int semnum) {
  int r = semctl(semid, semnum, GETVAL);
  return r < 0 ? -errno : r;
}

int shim_sem_setval(int semid, int semnum, int val) {
  union semun arg;
  arg.val = val;
  return semctl(semid, semnum, SETVAL, arg) < 0 ? -errno : 0;
}

int shim_sem_rmid(int semid) { return semctl(semid, 0, IPC_RMID) < 0 ? -errno : 0; }

/*
 * Flattened semid_ds, out[0..7]:
 * key, uid, cuid, mode, nsems, otime, ctime, (reserved)
 * Returns the semid (for SEM_STAT with an index) or 0.
 */
static int sem_stat_common(int id, int cmd, int64_t *out) {
  struct semid_ds ds;
  union semun arg;
  arg.buf = &ds;
  int r = semctl(id, 0, cmd, arg);
  if (r < 0) return -errno;
  out[0] = (int64_t)(int32_t)ds.sem_perm.__key;
  out[1] = ds.sem_perm.uid;
  out[2] = ds.sem_perm.cuid;
  out[3] = ds.sem_perm.mode & 0777;
  out[4] = (int64_t)ds.sem_nsems;
  out[5] = (int64_t)ds.sem_otime;
  out[6] = (int64_t)ds.sem_ctime;
  out[7] = 0;
  return r;
}

int shim_sem_stat(int semid, int64_t *out) { return sem_stat_common(semid, IPC_STAT, out); }

/* SEM_STAT takes an index into the kernel's table; returns that entry's semid. */
int shim_sem_stat_index(int index, int64_t *out) { return sem_stat_common(index, SEM_STAT_ANY, out); }

/* Highest used index in the kernel's semaphore table (for SEM_STAT iteration). */
int shim_sem_maxindex(void) {
  struct seminfo info;
  union semun arg;
  arg.__buf = &info;
  int r = semctl(0, 0, SEM_INFO, arg);
  return r < 0 ? -errno : r;
}

/* ---- shared memory ------------------------------------------------------- */

/*
 * Flattened shmid_ds, out[0..11]:
 * key, uid, cuid, mode, segsz, nattch, cpid, lpid, atime, dtime, ctime,
 * dest (1 when marked for removal: IPC_RMID while attached; the key is then private)
 */
static int shm_stat_common(int id, int cmd, int64_t *out) {
  struct shmid_ds ds;
  int r = shmctl(id, cmd, &ds);
  if (r < 0) return -errno;
  out[0] = (int64_t)(int32_t)ds.shm_perm.__key;
  out[1] = ds.shm_perm.uid;
  out[2] = ds.shm_perm.cuid;
  out[3] = ds.shm_perm.mode & 0777;
  out[4] = (int64_t)ds.shm_segsz;
  out[5] = (int64_t)ds.shm_nattch;
  out[6] = ds.shm_cpid;
  out[7] = ds.shm_lpid;
  out[8] = (int64_t)ds.shm_atime;
  out[9] = (int64_t)ds.shm_dtime;
  out[10] = (int64_t)ds.shm_ctime;
  out[11] = (ds.shm_perm.mode & SHM_DEST) ? 1 : 0;
  return r;
}

int shim_shm_stat(int shmid, int64_t *out) { return shm_stat_common(shmid, IPC_STAT, out); }

int shim_shm_stat_index(int index, int64_t *out) { return shm_stat_common(index, SHM_STAT_ANY, out); }

int shim_shm_maxindex(void) {
  struct shm_info info;
  int r = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
  return r < 0 ? -errno : r;
}

int shim_shm_rmid(int shmid) { return shmctl(shmid, IPC_RMID, NULL) < 0 ? -errno : 0; }

/* ---- futex (waits on a 32-bit word inside a shared segment) -------------- */

/*
 * Sleeps while *addr == expected, at most timeout_us microseconds.
 * Shared (not FUTEX_PRIVATE) so it works across processes on a SysV segment.
 * Returns 0 when woken, -EAGAIN if *addr != expected, -ETIMEDOUT, -EINTR.
 */
int shim_futex_wait(void *addr, int expected, int timeout_us) {
  struct timespec ts;
  ts.tv_sec = timeout_us / 1000000;
  ts.tv_nsec = (long)(timeout_us % 1000000) * 1000;
  long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
  return r < 0 ? -errno : 0;
}

/* Wakes up to n waiters; returns how many were woken. */
int shim_futex_wake(void *addr, int n) {
  long r = syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
  return r < 0 ? -errno : (int)r;
}

/* ---- signals ------------------------------------------------------------- */

static volatile sig_atomic_t pending_signal = 0;

static void on_signal(int sig) {
  if (pending_signal == 0) pending_signal = sig;
}

/*
 * SIGINT/SIGTERM/SIGHUP set a flag instead of killing the process, without
 * SA_RESTART, so a blocking read/futex returns EINTR and the stage loop can
 * detach cleanly. SIGPIPE is ignored: a closed output shows up as EPIPE.
 * A signal that is ignored on entry (nohup, `&` without job control) or named
 * in keep_ignored (bit 1 << sig: `run` passes on what it inherited ignored)
 * stays ignored.
 */
static int install_flag(int sig, const struct sigaction *sa, int keep_ignored) {
  struct sigaction old;
  if (sigaction(sig, NULL, &old) < 0) return -errno;
  if (old.sa_handler == SIG_IGN) return 0;
  if (keep_ignored & (1 << sig)) return signal(sig, SIG_IGN) == SIG_ERR ? -errno : 0;
  return sigaction(sig, sa, NULL) < 0 ? -errno : 0;
}

int shim_signals_install(int keep_ignored) {
  struct sigaction sa;
  int r;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  if ((r = install_flag(SIGINT, &sa, keep_ignored)) < 0) return r;
  if ((r = install_flag(SIGTERM, &sa, keep_ignored)) < 0) return r;
  if ((r = install_flag(SIGHUP, &sa, keep_ignored)) < 0) return r;
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

int shim_signal_pending(void) { return pending_signal; }

/* Ask the kernel to send `sig` to this process when its parent dies. */
int shim_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig) < 0 ? -errno : 0; }

/* ---- clock --------------------------------------------------------------- */

/* CLOCK_MONOTONIC in microseconds: comparable across processes (frame stamps). */
double shim_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- child processes for exec:/filter: ops ------------------------------- */

extern char **environ;

/*
 * Starts `/bin/sh -c cmd` with its stdin, stdout and stderr on three new
 * pipes. out[0] = pid, out[1] = our end of its stdin (write), out[2] = our
 * end of its stdout (read), out[3] = our end of its stderr (read); our ends
 * are O_CLOEXEC | O_NONBLOCK (the caller polls them). The child gets
 * PR_SET_PDEATHSIG SIGKILL (kept across exec), so a worker SIGKILLed by
 * --frame-timeout does not leave its filter behind, and its own process
 * group, so killpg reaches what the shell started. vfork (as glibc's
 * posix_spawn does) rather than fork: copying the page tables of a Bun
 * process costs milliseconds per exec: frame. Between vfork and exec the
 * child only makes system calls on its own kernel state (no memory writes
 * beyond its stack frame, no locks), then execs or _exits.
 */
int shim_spawn_sh(const char *cmd, int32_t *out) {
  int in[2], o[2], e[2];
  if (pipe2(in, O_CLOEXEC) < 0) return -errno;
  if (pipe2(o, O_CLOEXEC) < 0) { int r = -errno; close(in[0]); close(in[1]); return r; }
  if (pipe2(e, O_CLOEXEC) < 0) { int r = -errno; close(in[0]); close(in[1]); close(o[0]); close(o[1]); return r; }
  pid_t parent = getpid();
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  /* No handler of ours may run in the child (it shares our memory until exec). */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = vfork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    int r = -errno;
    close(in[0]); close(in[1]); close(o[0]); close(o[1]); close(e[0]); close(e[1]);
    return r;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the parent died before prctl */
    setpgid(0, 0);
    /* Every caught signal back to default before unblocking (as posix_spawn
     * does); SIGPIPE too, so a filter writing to a dead worker dies as usual. */
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
      if (sig == SIGPIPE || (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN)) sigaction(sig, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* dup2 clears O_CLOEXEC on 0, 1, 2; every other pipe end closes at exec. */
    if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) _exit(127);
    execve("/bin/sh", argv, environ);
    _exit(127);
  }
  close(in[0]);
  close(o[1]);
  close(e[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(o[0], F_SETFL, O_NONBLOCK);
  fcntl(e[0], F_SETFL, O_NONBLOCK);
  out[0] = pid;
  out[1] = in[1];
  out[2] = o[0];
  out[3] = e[0];
  return 0;
}

/*
 * waitpid(pid) without blocking when nohang: returns pid with *status set to
 * the exit code (0..255) or 128 + signal, 0 while it runs, -errno on failure.
 */
int shim_waitpid(int pid, int nohang, int32_t *status) {
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, nohang ? WNOHANG : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return 0;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
    return r;
  }
}

/* close(2) for the pipe ends above. */
int shim_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* ---- sizes the TypeScript side checks against its own constants ---------- */
int shim_abi_version(void) { return 1; }
