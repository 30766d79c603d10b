#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int32_t ms_version_number(void)
{
    return MS_VERSION_NUMBER;
}

const char *ms_version(void)
{
    return MS_VERSION_STRING;
}

ms_status ms_agent_open(ms_agent **out)
{
    if (!out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_agent_open: out is NULL");
    *out = NULL;
    ms_agent *agent = calloc(1, sizeof *agent);
    if (!agent)
        return ms__fail(MS_E_NO_MEMORY, "ms_agent_open: out of memory");
    agent->log_min = MS_LOG_INFO;
    ms_status st = ms__term_config_open(agent);
    if (st != MS_OK) {
        free(agent);
        return st;
    }
    *out = agent;
    return MS_OK;
}

void ms_agent_close(ms_agent *agent)
{
    if (agent)
        ms__term_config_close(agent);
    free(agent);
}

ms_status ms_agent_set_log(ms_agent *agent, ms_log_fn log_fn, void *user_data, int32_t min_level)
{
    if (!agent)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_agent_set_log: agent is NULL");
    if (min_level < MS_LOG_DEBUG || min_level > MS_LOG_ERROR)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_agent_set_log: level %d out of range", (int)min_level);
    agent->log_fn = log_fn;
    agent->log_user = user_data;
    agent->log_min = min_level;
    return MS_OK;
}

void ms__log(const ms_agent *agent, ms_log_level level, const char *fmt, ...)
{
    if (!agent || !agent->log_fn || (int32_t)level < agent->log_min)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    agent->log_fn((int32_t)level, message, agent->log_user);
}
