// Runs a shell command (popen) and hands each line of its output to on_line, without the newline.
// Returns pclose's wait status, or -1 when the command could not be started.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

inline int for_each_output_line(const std::string &cmd, const std::function<void(const std::string &)> &on_line)
{
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        return -1;
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        std::string s(line);
        if (!s.empty() && s.back() == '\n')
            s.pop_back();
        on_line(s);
    }
    return pclose(p);
}
