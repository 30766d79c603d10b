// IN_OPEN events of one file, counted by inotify from the moment the watch
// is built: the oracle for "root never opened the file a target pointed at".
#pragma once

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace {

struct OpenWatch {
    int fd;
    explicit OpenWatch(const std::string &path)
    {
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        EXPECT_GE(inotify_add_watch(fd, path.c_str(), IN_OPEN), 0) << strerror(errno);
    }
    ~OpenWatch() { close(fd); }
    int opens() const
    {
        int n = 0;
        alignas(struct inotify_event) char buf[4096];
        ssize_t got;
        while ((got = read(fd, buf, sizeof buf)) > 0)
            for (char *p = buf; p < buf + got; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
                n += (((struct inotify_event *)p)->mask & IN_OPEN) != 0;
        return n;
    }
};

} // namespace
