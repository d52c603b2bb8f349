/* threads_kernel: a thread's state as the kernel sees it. Threads declare their own
 * state (threads_set_state), but the I/O threads never change it from running and any
 * thread can block where it did not say so; this reads /proc/self/task/TID/stat and
 * .../syscall to turn "running" into idle or waiting with the system call as the
 * reason. Apart from the registry because it is the one Linux- and x86-64-specific
 * part, with its own table of system call numbers. */
#include "threads_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What a blocking system call means for a thread that declared itself running:
 * waiting for I/O or work (epoll, poll, select, accept) is idle, anything else it is
 * blocked in (a futex, a sleep, sigtimedwait, a read) is waiting. x86-64 numbers. */
static const struct { long nr; const char *name; int state; } blocking_syscalls[] = {
    {0, "read", THREADS_STATE_WAITING},          {1, "write", THREADS_STATE_WAITING},
    {7, "poll", THREADS_STATE_IDLE},             {23, "select", THREADS_STATE_IDLE},
    {35, "nanosleep", THREADS_STATE_WAITING},    {43, "accept", THREADS_STATE_IDLE},
    {45, "recvfrom", THREADS_STATE_WAITING},     {44, "sendto", THREADS_STATE_WAITING},
    {61, "wait4", THREADS_STATE_WAITING},        {128, "sigtimedwait", THREADS_STATE_WAITING},
    {202, "futex", THREADS_STATE_WAITING},       {230, "nanosleep", THREADS_STATE_WAITING},
    {232, "epoll_wait", THREADS_STATE_IDLE},     {270, "select", THREADS_STATE_IDLE},
    {271, "poll", THREADS_STATE_IDLE},           {281, "epoll_wait", THREADS_STATE_IDLE},
    {288, "accept", THREADS_STATE_IDLE},         {441, "epoll_wait", THREADS_STATE_IDLE},
};

/* Reads a small /proc/self/task/TID/<name> file into buf. Returns its length, or -1. */
static ssize_t read_task_file(pid_t tid, const char *name, char *buf, size_t len)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    do
        n = read(fd, buf, len - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Corrects a thread that declared itself running (the default of every thread, and
 * what the I/O threads never change) by what the kernel says it is doing: running or
 * runnable ('R') stays running; blocked in a system call becomes idle or waiting with
 * the call as the wait reason ("syscall" when it is not one listed above). Leaves
 * *state and *reason alone when /proc cannot tell. */
void threads_kernel_state(pid_t tid, int *state, const char **reason)
{
    char buf[512];
    const char *close_paren;
    long nr;

    if (tid <= 0 || read_task_file(tid, "stat", buf, sizeof buf) < 0 ||
        !(close_paren = strrchr(buf, ')')) || close_paren[1] != ' ')
        return;
    if (close_paren[2] == 'R')
        return;
    *state = THREADS_STATE_WAITING;
    *reason = "syscall";
    /* "NR args... sp pc" while blocked in a call; "running" or -1 otherwise. */
    if (read_task_file(tid, "syscall", buf, sizeof buf) < 0 || sscanf(buf, "%ld", &nr) != 1)
        return;
    for (size_t i = 0; i < sizeof blocking_syscalls / sizeof blocking_syscalls[0]; i++) {
        if (blocking_syscalls[i].nr == nr) {
            *state = blocking_syscalls[i].state;
            *reason = blocking_syscalls[i].name;
            return;
        }
    }
}
