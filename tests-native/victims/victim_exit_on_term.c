/* Artifact: SIGTERM keeps its default action (the process dies of it).
 * An optional argument renames the process's comm with prctl(PR_SET_NAME),
 * as malware does to pass for a daemon. */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        return 1;
    if (argc > 1 && prctl(PR_SET_NAME, argv[1], 0, 0, 0) != 0)
        return 1;
    char comm[17] = {0};
    if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0)
        return 1;
    printf("READY pid=%d comm=%s\n", (int)getpid(), comm);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
