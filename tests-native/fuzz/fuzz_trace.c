/* libFuzzer target: arbitrary bytes as the text of an fd's link (is it a
 * /proc/N/mem?), as /proc/PID/status (NStgid) and as an fdinfo file (pos, flags). */
#include "linux/trace_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t n = ms__trace_proc_mem_number(text, strlen(text));
    if (n != -1 && (n < 1 || n > INT32_MAX))
        __builtin_trap();
    int64_t last = ms__trace_last_number(text, "NStgid:");
    if (last < -1 || last > INT32_MAX)
        __builtin_trap();
    if (ms__trace_text_field(text, "pos:", 10) < -1 || ms__trace_text_field(text, "flags:", 8) < -1)
        __builtin_trap();
    free(text);
    return 0;
}
