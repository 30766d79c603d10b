/* memsentry: host memory-threat detection. The one header to include.
 *
 * Conventions (see docs/ARCHITECTURE.md): every fallible call returns
 * ms_status; results come through out-pointers or callbacks that return
 * non-zero to stop; ms_last_error() gives the detail of the last failure on
 * the calling thread; whoever allocates frees. */
#ifndef MEMSENTRY_H
#define MEMSENTRY_H

#include "ms_common.h"
#include "ms_dump.h"
#include "ms_process.h"
#include "ms_region.h"
#include "ms_terminate.h"
#include "ms_yara.h"
#include "ms_inspect.h"
#include "ms_trace.h"
#include "ms_watch.h"

#endif
