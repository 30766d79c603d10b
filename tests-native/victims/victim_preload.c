/* Artifact: the process was started with LD_PRELOAD naming a library
 * (libvictim_preload.so, built with the victims). Executes victim_plain with
 * it; the READY line comes from victim_plain. */
#include "victim_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    char dir[PATH_MAX], payload[PATH_MAX + 32], lib[PATH_MAX + 32];
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(payload, sizeof payload, "%s/victim_plain", dir);
    snprintf(lib, sizeof lib, "%s/libvictim_preload.so", dir);
    if (setenv("LD_PRELOAD", lib, 1) != 0)
        return 1;
    char *argv[] = {payload, NULL};
    execve(payload, argv, environ);
    perror("execve");
    return 1;
}
