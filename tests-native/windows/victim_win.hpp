// Starts a Windows victim from the victims\ directory next to the test
// executable with CreateProcess and reads its READY line. The victim exits
// when its stdin closes; stop() closes it, waits, and only if the victim is
// still there after that ends it (it is our own child).
#pragma once

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

inline std::wstring widen(const std::string &s)
{
    if (s.empty())
        return {};
    int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), nullptr, 0);
    std::wstring w(n, L'\0');
    MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), &w[0], n);
    return w;
}

inline std::string narrow(const std::wstring &w)
{
    if (w.empty())
        return {};
    int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), nullptr, 0, nullptr, nullptr);
    std::string s(n, '\0');
    WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), &s[0], n, nullptr, nullptr);
    return s;
}

// Windows paths compare case-insensitively.
inline std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

// The directory holding the running test executable, without a final backslash.
inline std::wstring test_exe_dir()
{
    std::wstring path(32768, L'\0');
    DWORD n = GetModuleFileNameW(nullptr, &path[0], (DWORD)path.size());
    path.resize(n);
    return path.substr(0, path.find_last_of(L"\\/"));
}

inline std::wstring victim_path(const std::string &name)
{
    return test_exe_dir() + L"\\victims\\" + widen(name) + L".exe";
}

class Victim {
public:
    explicit Victim(const std::string &name, std::vector<std::wstring> args = {})
        : Victim(victim_path(name), std::move(args))
    {
    }

    // The program at path (a copy of a victim placed elsewhere).
    explicit Victim(const std::wstring &path, std::vector<std::wstring> args = {})
    {
        path_ = path;
        std::wstring cmd = L"\"" + path_ + L"\"";
        for (auto &a : args)
            cmd += L" \"" + a + L"\""; // test arguments hold no quotes
        SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
        HANDLE in_r, out_w;
        if (!CreatePipe(&in_r, &stdin_w_, &sa, 0) || !CreatePipe(&out_r_, &out_w, &sa, 0))
            throw std::runtime_error("CreatePipe");
        SetHandleInformation(stdin_w_, HANDLE_FLAG_INHERIT, 0);
        SetHandleInformation(out_r_, HANDLE_FLAG_INHERIT, 0);
        STARTUPINFOW si{};
        si.cb = sizeof si;
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = in_r;
        si.hStdOutput = out_w;
        si.hStdError = out_w;
        PROCESS_INFORMATION pi{};
        BOOL ok = CreateProcessW(path_.c_str(), &cmd[0], nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi);
        DWORD err = GetLastError();
        CloseHandle(in_r);
        CloseHandle(out_w);
        if (!ok)
            throw std::runtime_error("CreateProcess " + narrow(path_) + " failed: " + std::to_string(err));
        CloseHandle(pi.hThread);
        process_ = pi.hProcess;
        pid_ = pi.dwProcessId;
        std::string line;
        char c;
        DWORD n;
        while (ReadFile(out_r_, &c, 1, &n, nullptr) && n == 1) {
            if (c == '\r')
                continue; // Windows text-mode stdout
            if (c != '\n') {
                line += c;
                continue;
            }
            if (line.rfind("READY", 0) == 0) {
                std::istringstream words(line.substr(5));
                std::string kv;
                while (words >> kv) {
                    auto eq = kv.find('=');
                    if (eq != std::string::npos)
                        facts_[kv.substr(0, eq)] = kv.substr(eq + 1);
                }
                return;
            }
            line.clear();
        }
        stop();
        throw std::runtime_error("victim " + narrow(path_) + " exited before READY (exit code " +
                                 std::to_string(exit_code_) + ")");
    }

    Victim(const Victim &) = delete;
    Victim &operator=(const Victim &) = delete;

    ~Victim() { stop(); }

    DWORD pid() const { return pid_; }
    HANDLE process() const { return process_; }
    const std::wstring &path() const { return path_; }
    const std::string &fact(const std::string &key) const { return facts_.at(key); }
    unsigned long long hex(const std::string &key) const { return std::stoull(fact(key), nullptr, 16); }

    bool running() const { return process_ && WaitForSingleObject(process_, 0) == WAIT_TIMEOUT; }

    // Waits up to ms for the victim to end on its own (e.g. terminated by the
    // code under test); true when it has.
    bool wait_exit(DWORD ms) const { return !process_ || WaitForSingleObject(process_, ms) == WAIT_OBJECT_0; }

    // Closes stdin and waits for the victim; returns its exit code.
    DWORD stop()
    {
        if (stdin_w_) {
            CloseHandle(stdin_w_);
            stdin_w_ = nullptr;
        }
        if (process_) {
            if (WaitForSingleObject(process_, 10000) != WAIT_OBJECT_0) {
                TerminateProcess(process_, 255);
                WaitForSingleObject(process_, INFINITE);
            }
            GetExitCodeProcess(process_, &exit_code_);
            CloseHandle(process_);
            process_ = nullptr;
        }
        if (out_r_) {
            CloseHandle(out_r_);
            out_r_ = nullptr;
        }
        return exit_code_;
    }

private:
    std::wstring path_;
    HANDLE process_ = nullptr;
    HANDLE stdin_w_ = nullptr;
    HANDLE out_r_ = nullptr;
    DWORD pid_ = 0;
    DWORD exit_code_ = 0;
    std::map<std::string, std::string> facts_;
};
