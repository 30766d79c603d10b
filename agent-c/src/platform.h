/* The one internal interface between the portable API layer (api.c) and the
 * platform code under linux/ and windows/. Arguments are validated by the API
 * layer before these are called. */
#ifndef MS_PLATFORM_H
#define MS_PLATFORM_H

#include "internal.h"

ms_status ms__plat_process_list(ms_agent *agent, ms_process_cb cb, void *user_data);
ms_status ms__plat_process_get(ms_agent *agent, int64_t pid, ms_process_cb cb, void *user_data);
ms_status ms__plat_region_list(ms_agent *agent, int64_t pid, ms_region_cb cb, void *user_data);
ms_status ms__plat_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len,
                               size_t *out_read);
/* Termination (common/protect.c checks the arguments and resets the report;
 * options are complete, with defaults applied). */
ms_status ms__plat_terminate(ms_agent *agent, int64_t pid, const ms_terminate_options *opts,
                             ms_terminate_report *report);
ms_status ms__plat_terminate_pidfd(ms_agent *agent, int pidfd, const ms_terminate_options *opts,
                                   ms_terminate_report *report);
ms_status ms__plat_pidfd_open(int64_t pid, int *pidfd);
void ms__plat_pidfd_close(int pidfd);
/* detail has cap bytes; filled when MS_OK is returned. */
ms_status ms__plat_protect_check(ms_agent *agent, int64_t pid, int32_t *reason, char *detail, size_t cap);
/* opts is complete (defaults filled in) and validated; result is full size. */
ms_status ms__plat_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                                ms_dump_result *result);

/* ms_inspect.h; the structs are full-size and zeroed with struct_size set. */
ms_status ms__plat_region_probe(ms_agent *agent, int64_t pid, const ms_region *region, ms_region_probe_result *out);
ms_status ms__plat_region_compare_file(ms_agent *agent, int64_t pid, const ms_region *region,
                                       const ms_compare_options *opts, ms_code_diff_cb cb, void *user_data,
                                       ms_compare_stats *stats);
ms_status ms__plat_thread_list(ms_agent *agent, int64_t pid, ms_thread_cb cb, void *user_data);
ms_status ms__plat_process_facts(ms_agent *agent, int64_t pid, ms_process_facts *out);
ms_status ms__plat_module_list(ms_agent *agent, int64_t pid, ms_module_cb cb, void *user_data);


/* ms_trace.h (common/trace_api.c checks the arguments; summary is full-size,
 * zeroed, struct_size set). open/close create and free the stop mechanism;
 * stop is async-signal-safe. */
ms_status ms__plat_trace_open(ms_trace *trace);
void ms__plat_trace_close(ms_trace *trace);
void ms__plat_trace_stop(ms_trace *trace);
ms_status ms__plat_trace_attach(ms_trace *trace, int64_t pid, ms_trace_summary *summary);
ms_status ms__plat_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *summary);

/* ms_watch.h (common/watch_api.c checks the arguments and fills the option
 * defaults). open chooses the source and fills watch->info (source, reason,
 * detail); stop is async-signal-safe (watch->stop_requested is already set). */
ms_status ms__plat_watch_open(ms_watch *watch);
void ms__plat_watch_close(ms_watch *watch);
void ms__plat_watch_stop(ms_watch *watch);
ms_status ms__plat_watch_run(ms_watch *watch, ms_proc_event_fn fn, void *user_data);

#endif
