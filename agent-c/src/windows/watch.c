/* Windows has no process connector and no /proc: watches answer MS_E_UNSUPPORTED
 * (the DLL exports the same symbols as the Linux library). */
#include "../common/watch_session.h"
#include "../platform.h"

ms_status ms__plat_watch_open(ms_watch *watch)
{
    (void)watch;
    return ms__fail(MS_E_UNSUPPORTED, "process events are not available on Windows");
}

void ms__plat_watch_close(ms_watch *watch)
{
    (void)watch;
}

void ms__plat_watch_stop(ms_watch *watch)
{
    (void)watch;
}

ms_status ms__plat_watch_run(ms_watch *watch, ms_proc_event_fn fn, void *user_data)
{
    (void)watch, (void)fn, (void)user_data;
    return ms__fail(MS_E_UNSUPPORTED, "process events are not available on Windows");
}
