// Runs a function as PID 1 of a fresh PID namespace with its own /proc, so a test that sweeps
// every process sees only what it started itself. Returns the function's exit status (0 = pass);
// failures are described on stderr by the function, since gtest assertions do not cross fork().
#pragma once

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

inline int run_in_new_pid_namespace(const std::function<int()> &fn)
{
    pid_t outer = fork();
    if (outer < 0)
        return 100;
    if (outer == 0) {
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
            perror("unshare(CLONE_NEWPID|CLONE_NEWNS)");
            _exit(101);
        }
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            perror("make / private");
            _exit(102);
        }
        pid_t init = fork(); // the first child in the namespace is its PID 1
        if (init < 0)
            _exit(103);
        if (init == 0) {
            if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
                perror("mount /proc");
                _exit(104);
            }
            fflush(stderr);
            _exit(fn());
        }
        int status = 0;
        waitpid(init, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 105);
    }
    int status = 0;
    waitpid(outer, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 106;
}
