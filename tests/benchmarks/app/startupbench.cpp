// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-startup-bench: what starting the programs costs.
//
//   icmil-studio <slide>   start (fork + exec) to the first complete slide frame, resident memory
//                          then (VmRSS), and whether LibTorch, c10 or a Qt 5 library is mapped;
//                          the app reports the frame with ICMIL_STARTUP_REPORT=1, offscreen.
//   icmil info <slide>     wall time of the whole command.
//
// Each is run --runs times (default 5); the table gives the median and the range. Every run gets a
// fresh settings folder (XDG_CONFIG_HOME), so no recent project opens. Compare two builds by
// pointing --studio and --icmil at each, in one session (the machine is noisy).
//
//   icmil-startup-bench [--studio PATH] [--icmil PATH] [--slide FILE] [--runs N]
// Without --slide a 6000x4800 synthetic slide is made with `icmil synth` in a temporary folder.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

double nowMs()
{
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct Child {
    pid_t pid = -1;
    int stderrFd = -1;
};

// Starts `argv` with `env` added, stdout to /dev/null, stderr to a pipe.
Child spawn(const std::vector<std::string> &argv, const std::vector<std::pair<std::string, std::string>> &env)
{
    int fds[2];
    if (::pipe(fds) != 0) {
        std::perror("pipe");
        std::exit(1);
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDERR_FILENO);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        for (const auto &[name, value] : env)
            ::setenv(name.c_str(), value.c_str(), 1);
        std::vector<char *> args;
        for (const std::string &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(fds[1]);
    return {pid, fds[0]};
}

// Reads `fd` until a line containing `marker` arrives (its text returned) or `timeoutMs` passes.
std::string waitForLine(int fd, const std::string &marker, double timeoutMs)
{
    std::string buffer;
    const double end = nowMs() + timeoutMs;
    while (nowMs() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        char chunk[4096];
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0)
            break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t at;
        while ((at = buffer.find('\n')) != std::string::npos) {
            const std::string line = buffer.substr(0, at);
            buffer.erase(0, at + 1);
            if (line.find(marker) != std::string::npos)
                return line;
        }
    }
    return {};
}

std::string readFile(const fs::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

double residentMiB(pid_t pid)
{
    std::istringstream status(readFile("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    return -1.0;
}

struct Figures {
    std::vector<double> values;
    void add(double v) { values.push_back(v); }
    double median() const
    {
        std::vector<double> v = values;
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
    }
    double min() const { return values.empty() ? 0.0 : *std::min_element(values.begin(), values.end()); }
    double max() const { return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end()); }
};

void printRow(const std::string &name, const Figures &f, const std::string &unit)
{
    std::cout << std::left << std::setw(42) << name << std::right << std::fixed << std::setprecision(1) << std::setw(9) << f.median() << ' '
              << unit << "  (" << f.min() << " - " << f.max() << ")\n";
}

int finish(Child &child)
{
    ::kill(child.pid, SIGKILL);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ::close(child.stderrFd);
    return status;
}

} // namespace

int main(int argc, char **argv)
{
    std::string studio = ICMIL_STUDIO_PATH;
    std::string icmil = ICMIL_CLI_PATH;
    std::string slide;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--studio" && i + 1 < argc)
            studio = argv[++i];
        else if (a == "--icmil" && i + 1 < argc)
            icmil = argv[++i];
        else if (a == "--slide" && i + 1 < argc)
            slide = argv[++i];
        else if (a == "--runs" && i + 1 < argc)
            runs = std::max(1, std::atoi(argv[++i]));
        else {
            std::cerr << "usage: icmil-startup-bench [--studio PATH] [--icmil PATH] [--slide FILE] [--runs N]\n";
            return 2;
        }
    }
    char folderTemplate[] = "/tmp/icmil-startup-bench-XXXXXX";
    const fs::path scratch = ::mkdtemp(folderTemplate);
    if (slide.empty()) {
        const std::string command = icmil + " synth --out " + (scratch / "data").string() + " --slides 1 --size 6000x4800 > /dev/null";
        if (std::system(command.c_str()) != 0) {
            std::cerr << "could not make a slide with: " << command << '\n';
            return 1;
        }
        for (const fs::directory_entry &e : fs::recursive_directory_iterator(scratch / "data"))
            if (e.path().extension() == ".svs" || e.path().extension() == ".tiff")
                slide = e.path().string();
    }
    std::cout << "studio " << studio << "\nicmil  " << icmil << "\nslide  " << slide << "\nruns   " << runs << "\n\n";

    Figures firstFrame, rss;
    int torchMapped = 0, qt5Mapped = 0;
    for (int run = 0; run < runs; ++run) {
        const fs::path config = scratch / ("config-" + std::to_string(run));
        fs::create_directories(config);
        const double start = nowMs();
        Child child = spawn({studio, slide},
                            {{"QT_QPA_PLATFORM", "offscreen"}, {"ICMIL_STARTUP_REPORT", "1"}, {"XDG_CONFIG_HOME", config.string()}});
        const std::string line = waitForLine(child.stderrFd, "first frame at", 60000);
        if (line.empty()) {
            finish(child);
            std::cerr << "run " << run << ": no first-frame report within 60 s\n";
            return 1;
        }
        const double frameNs = std::strtod(line.c_str() + line.find("at ") + 3, nullptr);
        firstFrame.add(frameNs / 1e6 - start);
        rss.add(residentMiB(child.pid));
        const std::string maps = readFile("/proc/" + std::to_string(child.pid) + "/maps");
        torchMapped += maps.find("libtorch") != std::string::npos || maps.find("libc10") != std::string::npos;
        qt5Mapped += maps.find("libQt5") != std::string::npos;
        finish(child);
    }

    Figures info;
    for (int run = 0; run < runs; ++run) {
        const double start = nowMs();
        Child child = spawn({icmil, "info", slide}, {});
        int status = 0;
        ::waitpid(child.pid, &status, 0);
        ::close(child.stderrFd);
        info.add(nowMs() - start);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::cerr << "icmil info failed\n";
            return 1;
        }
    }

    printRow("icmil-studio start to first slide frame", firstFrame, "ms");
    printRow("icmil-studio resident memory then", rss, "MiB");
    std::cout << std::left << std::setw(42) << "runs with LibTorch/c10 mapped" << std::right << std::setw(9) << torchMapped << " of "
              << runs << '\n';
    std::cout << std::left << std::setw(42) << "runs with a Qt 5 library mapped" << std::right << std::setw(9) << qt5Mapped << " of "
              << runs << '\n';
    printRow("icmil info <slide>", info, "ms");
    std::error_code ec;
    fs::remove_all(scratch, ec);
    return 0;
}
