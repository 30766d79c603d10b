// What the Google Test files share: an agent handle opened and closed with
// the test, and a shell command's standard output.
#pragma once

#include <memsentry/memsentry.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

struct Agent {
    ms_agent *a = nullptr;
    Agent() { EXPECT_EQ(ms_agent_open(&a), MS_OK); }
    ~Agent() { ms_agent_close(a); }
    Agent(const Agent &) = delete;
    Agent &operator=(const Agent &) = delete;
};

// Runs cmd with sh and returns what it printed; its wait status in *status.
inline std::string run(const std::string &cmd, int *status = nullptr)
{
    std::string out;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = pclose(p);
    if (status)
        *status = st;
    return out;
}
