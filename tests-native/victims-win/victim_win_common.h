/* Shared by the Windows victims: the READY line and the wait for stdin EOF. */
#ifndef MS_VICTIM_WIN_COMMON_H
#define MS_VICTIM_WIN_COMMON_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>

/* Blocks until the harness closes our standard input (or it breaks). */
static void wait_for_stdin_eof(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    char buf[64];
    DWORD n;
    while (ReadFile(in, buf, sizeof buf, &n, NULL) && n > 0) {
    }
}

#endif
