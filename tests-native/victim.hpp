// Starts a victim program from MS_VICTIM_DIR (or an absolute path) and reads its READY line.
// The victim exits when its stdin closes; the destructor closes it, waits a
// little and kills it if it is still there.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

class Victim {
public:
    explicit Victim(const std::string &name, std::vector<std::string> args = {})
    {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        // An absolute name is a program elsewhere (a copy of a victim, a wrapper such as unshare).
        std::string path = name.rfind('/', 0) == 0 ? name : std::string(MS_VICTIM_DIR) + "/" + name;
        std::vector<char *> argv{const_cast<char *>(path.c_str())};
        for (auto &a : args)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(out[1]);
        if (rc != 0)
            throw std::runtime_error("spawn " + path + " failed");
        stdin_fd_ = in[1];
        out_ = fdopen(out[0], "r");
        char line[4096];
        while (fgets(line, sizeof line, out_)) {
            std::string s(line);
            if (s.rfind("READY", 0) == 0) {
                std::istringstream words(s.substr(5));
                std::string kv;
                while (words >> kv) {
                    auto eq = kv.find('=');
                    if (eq != std::string::npos)
                        facts_[kv.substr(0, eq)] = kv.substr(eq + 1);
                }
                return;
            }
        }
        throw std::runtime_error("victim " + name + " exited before READY");
    }

    Victim(const Victim &) = delete;
    Victim &operator=(const Victim &) = delete;

    ~Victim() { stop(); }

    pid_t pid() const { return pid_; }
    const std::string &fact(const std::string &key) const { return facts_.at(key); }
    unsigned long long hex(const std::string &key) const { return std::stoull(fact(key), nullptr, 16); }

    // Writes one line to the victim's stdin.
    bool send(const std::string &line)
    {
        std::string s = line + "\n";
        return stdin_fd_ >= 0 && write(stdin_fd_, s.data(), s.size()) == (ssize_t)s.size();
    }

    // The next line the victim prints, without its newline ("" at EOF).
    std::string read_line()
    {
        char buf[4096];
        if (!out_ || !fgets(buf, sizeof buf, out_))
            return "";
        std::string s(buf);
        if (!s.empty() && s.back() == '\n')
            s.pop_back();
        return s;
    }

    // Closes stdin and reaps the victim; returns its wait status.
    int stop()
    {
        if (pid_ <= 0)
            return status_;
        if (stdin_fd_ >= 0)
            close(stdin_fd_);
        stdin_fd_ = -1;
        for (int i = 0; i < 200; i++) {
            if (waitpid(pid_, &status_, WNOHANG) == pid_) {
                finish();
                return status_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        finish();
        return status_;
    }

private:
    void finish()
    {
        pid_ = -1;
        if (out_)
            fclose(out_);
        out_ = nullptr;
    }

    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int status_ = 0;
    FILE *out_ = nullptr;
    std::map<std::string, std::string> facts_;
};
