#define _GNU_SOURCE
#include "thread_cpu_clock.h"
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__linux__)
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <x86intrin.h>
#define VHPC_FAST_CLOCK 1
#endif

static uint64_t thread_cpu_syscall(void) {
    struct timespec time;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time);
    return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

#ifdef VHPC_FAST_CLOCK

/// Nanoseconds per time-stamp counter tick, measured once per process against CLOCK_MONOTONIC (0: the
/// counter is not usable, every read is the system call).
static double ns_per_tick;
static pthread_once_t calibrated = PTHREAD_ONCE_INIT;

static uint64_t monotonic_ns(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

/// A CLOCK_MONOTONIC reading and the counter at the same moment: the reading bracketed by two counter reads
/// close together (a thread preempted between them on a busy host would skew the rate); 0 if none was.
static int paired_reading(uint64_t *wall, uint64_t *tick) {
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint64_t before = __rdtsc();
        uint64_t now = monotonic_ns();
        uint64_t after = __rdtsc();
        if (after > before && after - before < 4000) {
            *wall = now;
            *tick = before + (after - before) / 2;
            return 1;
        }
    }
    return 0;
}

static void calibrate(void) {
    // Only an invariant counter (constant rate, running in every C-state) with the kernel's clock on it.
    unsigned int eax, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x80000007u), "c"(0));
    if (!(edx & (1u << 8))) return;
    uint64_t wall0, tick0, wall1, tick1;
    if (!paired_reading(&wall0, &tick0)) return;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (!paired_reading(&wall1, &tick1)) return;
    // Over 50 ms, each end within ~2 µs: the rate within 1e-4.
    if (tick1 > tick0 && wall1 > wall0) ns_per_tick = (double)(wall1 - wall0) / (double)(tick1 - tick0);
}

/// The calling thread's state: its perf page, and the last system-call reading with the counter and the
/// page's sequence number at that moment.
struct thread_clock {
    int state;  // 0: not opened yet; 1: fast; -1: system call only
    int fd;
    volatile struct perf_event_mmap_page *page;
    uint64_t anchor_ns;
    uint64_t anchor_tick;
    uint32_t anchor_seq;
    uint64_t resync_ticks;  // counter ticks after which a reading goes back to the system call
    uint64_t last_ns;       // the last value returned: readings never go back
};

static __thread struct thread_clock clock_of_thread;
static pthread_key_t closer;
static pthread_once_t closer_made = PTHREAD_ONCE_INIT;

static void close_clock(void *unused) {
    (void)unused;
    struct thread_clock *clock = &clock_of_thread;
    if (clock->state == 1) {
        munmap((void *)clock->page, (size_t)sysconf(_SC_PAGESIZE));
        close(clock->fd);
    }
    clock->state = -1;
}

static void make_closer(void) { pthread_key_create(&closer, close_clock); }

static void open_clock(struct thread_clock *clock) {
    clock->state = -1;
    pthread_once(&calibrated, calibrate);
    if (ns_per_tick <= 0) return;
    // A dummy software event counts nothing and costs nothing; its page's sequence number still moves on
    // every switch of the thread.
    struct perf_event_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.size = sizeof attributes;
    attributes.type = PERF_TYPE_SOFTWARE;
    attributes.config = PERF_COUNT_SW_DUMMY;
    attributes.exclude_kernel = 1;
    attributes.exclude_hv = 1;
    int fd = (int)syscall(SYS_perf_event_open, &attributes, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) return;
    void *page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED) {
        close(fd);
        return;
    }
    clock->fd = fd;
    clock->page = page;
    clock->anchor_seq = clock->page->lock - 1;  // forces a system-call reading first
    clock->resync_ticks = (uint64_t)((double)VHPC_THREAD_CPU_RESYNC_NS / ns_per_tick);
    clock->state = 1;
    pthread_once(&closer_made, make_closer);
    pthread_setspecific(closer, clock);
}

/// `value`, or the last value returned if that was later (a system-call reading can be behind a counter
/// reading taken while the hypervisor had stolen the CPU).
static uint64_t monotonic(struct thread_clock *clock, uint64_t value) {
    if (value < clock->last_ns) return clock->last_ns;
    clock->last_ns = value;
    return value;
}

uint64_t vhpc_thread_cpu_ns(void) {
    struct thread_clock *clock = &clock_of_thread;
    if (__builtin_expect(clock->state == 0, 0)) open_clock(clock);
    if (clock->state != 1) return thread_cpu_syscall();
    uint32_t seq = clock->page->lock;
    __asm__ volatile("" ::: "memory");
    uint64_t tick = __rdtsc();
    __asm__ volatile("" ::: "memory");
    if (seq == clock->anchor_seq && clock->page->lock == seq && tick - clock->anchor_tick < clock->resync_ticks) {
        return monotonic(clock, clock->anchor_ns + (uint64_t)((double)(tick - clock->anchor_tick) * ns_per_tick));
    }
    // Switched since the last reading, or the reading is old: read it again, with the counter, while the
    // thread is not switched.
    for (;;) {
        seq = clock->page->lock;
        __asm__ volatile("" ::: "memory");
        uint64_t now = thread_cpu_syscall();
        tick = __rdtsc();
        __asm__ volatile("" ::: "memory");
        if (clock->page->lock == seq) {
            clock->anchor_ns = now;
            clock->anchor_tick = tick;
            clock->anchor_seq = seq;
            return monotonic(clock, now);
        }
    }
}

int vhpc_thread_cpu_clock_is_fast(void) {
    struct thread_clock *clock = &clock_of_thread;
    if (clock->state == 0) open_clock(clock);
    return clock->state == 1;
}

#else

uint64_t vhpc_thread_cpu_ns(void) { return thread_cpu_syscall(); }

int vhpc_thread_cpu_clock_is_fast(void) { return 0; }

#endif
