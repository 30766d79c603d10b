/* Artifact: SIGTERM is ignored, so only SIGKILL ends this process. Prints
 * READY once the disposition is in place. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        return 1;
    printf("READY pid=%d\n", (int)getpid());
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
