// SPDX-License-Identifier: Apache-2.0
// Replays the fuzz target over files without libFuzzer, so the seed corpus and the shared real
// files run as an ordinary CTest test with any compiler.
//
// Usage: fcs_fuzz_replay PATH...   (files, or directories searched recursively)
// Exits 0 when every input ran; a crash or an uncaught exception aborts, naming the input.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" void fcs_fuzz_replay_on_signal(int sig);

namespace {

namespace fs = std::filesystem;

// The input being run, for the crash handlers (a fixed buffer: they must not allocate).
char current_input[4096] = "";

void report_current(const char* what) {
  std::fputs("fcs_fuzz_replay: ", stderr);
  std::fputs(what, stderr);
  std::fputs(" while running ", stderr);
  std::fputs(current_input, stderr);
  std::fputs("\n", stderr);
  std::fflush(stderr);
}

void on_terminate() {
  report_current("uncaught exception (only fcs::Error may escape the reader)");
  std::abort();
}

bool collect(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(arg, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  return !ec;
}

}  // namespace

extern "C" void fcs_fuzz_replay_on_signal(int sig) {
  report_current("fatal signal");
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!collect(argv[i], inputs)) {
      std::fprintf(stderr, "fcs_fuzz_replay: cannot read %s\n", argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());

  for (const int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGILL}) std::signal(sig, fcs_fuzz_replay_on_signal);
  std::set_terminate(on_terminate);

  std::size_t ran = 0;
  std::size_t bytes = 0;
  for (const fs::path& p : inputs) {
    const std::string name = p.string();
    const std::size_t n = std::min(name.size(), sizeof current_input - 1);
    std::copy_n(name.data(), n, current_input);
    current_input[n] = '\0';

    std::ifstream in(p, std::ios::binary);
    const std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "fcs_fuzz_replay: cannot read %s\n", name.c_str());
      return 2;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    ++ran;
    bytes += data.size();
  }
  std::printf("fcs_fuzz_replay: ran %zu inputs (%zu bytes)\n", ran, bytes);
  return 0;
}
