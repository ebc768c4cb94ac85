// Runs the bpfvm binary as a user would: a child process with its own stdout and stderr, so the
// hostile cases see exactly what a shell sees, exit code or signal included.
#pragma once

#include <string>
#include <vector>

namespace bpfvm::hostile {

struct CliResult {
    int exit_code = -1;  // -1 when the process died by a signal
    int signal = 0;      // the signal that ended it, 0 if it exited
    bool timed_out = false;
    std::string out, err;
};

/// Runs `bpfvm` (from the build folder) with `args`. `timeout_s` only guards against hangs (a
/// case that hits it fails); it does not measure speed.
CliResult run_bpfvm(const std::vector<std::string>& args, int timeout_s = 300);

/// A fresh temporary folder for one case, removed with its contents when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    /// Writes `bytes` to path()/name and returns the full path.
    std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const;
    std::string write(const std::string& name, const std::string& text) const;

private:
    std::string path_;
};

}  // namespace bpfvm::hostile
