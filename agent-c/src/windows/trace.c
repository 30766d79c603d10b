/* Windows has no ptrace: sessions open (so options are validated the same
 * way everywhere) but tracing answers MS_E_UNSUPPORTED. */
#include "../common/trace_session.h"
#include "../platform.h"

ms_status ms__plat_trace_open(ms_trace *trace)
{
    (void)trace;
    return MS_OK;
}

void ms__plat_trace_close(ms_trace *trace)
{
    (void)trace;
}

void ms__plat_trace_stop(ms_trace *trace)
{
    (void)trace;
}

ms_status ms__plat_trace_attach(ms_trace *trace, int64_t pid, ms_trace_summary *summary)
{
    (void)trace;
    summary->end = MS_TRACE_END_ERROR;
    summary->pid = pid;
    return ms__fail(MS_E_UNSUPPORTED, "syscall tracing is not available on Windows (no ptrace)");
}

ms_status ms__plat_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *summary)
{
    (void)trace, (void)argv;
    summary->end = MS_TRACE_END_ERROR;
    return ms__fail(MS_E_UNSUPPORTED, "syscall tracing is not available on Windows (no ptrace)");
}
