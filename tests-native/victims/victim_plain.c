/* No artifact of its own: the benign baseline, and the program the fileless
 * victims run (from a memfd, deleted, with LD_PRELOAD). With "--unlink PATH"
 * it deletes PATH (its own executable) before saying READY. */
#include "victim_common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--unlink") == 0 && unlink(argv[2]) != 0) {
        perror("unlink");
        return 1;
    }
    printf("READY pid=%d\n", (int)getpid());
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
