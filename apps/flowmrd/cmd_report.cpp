// SPDX-License-Identifier: Apache-2.0
// `flowmrd report --db FILE --patient ID [--html OUT] [--pdf OUT]`: the clinician's MRD report of
// one patient from the results store (docs/report.md). The page is rendered by
// pipeline::render_patient_report; the PDF is printed by headless Chromium.
#include "cmd_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cmd_analyze.hpp"
#include "command_error.hpp"
#include "exit_codes.hpp"
#include "flowmrd/pipeline/report.hpp"
#include "flowmrd/pipeline/store.hpp"

namespace flowmrd::cli {

namespace {

namespace fs = std::filesystem;
namespace fp = flowmrd::pipeline;

constexpr int kChromiumTimeoutSeconds = 60;

struct ReportOptions {
  std::string db;
  std::string patient;
  std::string html;
  std::string pdf;
};

/// A file name from a patient id: characters other than letters, digits, '.', '-', '_' become '_'.
std::string file_stem(const std::string& patient) {
  std::string s;
  for (const char c : patient) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    s += ok ? c : '_';
  }
  if (s.empty() || s.front() == '.') s.insert(s.begin(), '_');
  return s;
}

/// "file:///abs/path" with characters outside the unreserved set percent-encoded.
std::string file_url(const fs::path& path) {
  static const char* hex = "0123456789ABCDEF";
  std::string url = "file://";
  for (const unsigned char c : fs::absolute(path).lexically_normal().string()) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (keep) {
      url += static_cast<char>(c);
    } else {
      url += '%';
      url += hex[c >> 4];
      url += hex[c & 15];
    }
  }
  return url;
}

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

/// A temporary directory removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string templ = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
      throw CommandError(ExitCode::output_failed, templ + ": cannot create a temporary directory: " + std::strerror(errno));
    }
    path_ = templ;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string last_lines(const fs::path& log, std::size_t n) {
  std::ifstream f(log);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    // Chromium's routine noise in containers (no D-Bus, no GPU) says nothing about the failure.
    if (line.find("dbus") != std::string::npos || line.find("DBus") != std::string::npos) continue;
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

/// Run argv (argv[0] a path) in its own process group with stdin from /dev/null and stdout and
/// stderr to `log`; kill the group after `timeout_s`. Returns the wait status, or -1 on timeout.
int run_with_timeout(const std::vector<std::string>& args, const fs::path& log, int timeout_s) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t pid = ::fork();
  if (pid < 0) throw CommandError(ExitCode::output_failed, args[0] + ": cannot start: " + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Helper processes Chromium left behind in its group.
  ::kill(-pid, SIGKILL);
  return status;
}

bool starts_with_pdf_magic(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  char magic[5] = {};
  f.read(magic, 5);
  return f.gcount() == 5 && std::memcmp(magic, "%PDF-", 5) == 0;
}

int run_report(const ReportOptions& o) {
  const bool want_pdf = !o.pdf.empty();
  const std::string html_out = !o.html.empty() ? o.html : (want_pdf ? std::string{} : file_stem(o.patient) + ".html");

  std::error_code ec;
  if (!fs::exists(o.db, ec)) {
    throw CommandError(ExitCode::input_invalid, o.db + ": no such results store (run 'flowmrd batch' to create one)");
  }
  std::string html;
  try {
    const fp::ResultStore store = fp::ResultStore::open_read_only(o.db);
    html = patient_report_html(store, o.patient, fs::path(o.db).filename().string());
  } catch (const fp::StoreError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }

  if (!html_out.empty()) {
    write_atomically(html_out, html);
    if (html_out != "-") std::cout << "html: " << html_out << "\n";
  }
  if (!want_pdf) return to_int(ExitCode::ok);

  std::unique_ptr<TempDir> tmp;
  std::string html_file = html_out;
  if (html_file.empty() || html_file == "-") {
    tmp = std::make_unique<TempDir>("flowmrd-report-");
    html_file = (tmp->path() / (file_stem(o.patient) + ".html")).string();
    write_atomically(html_file, html);
  }
  try {
    write_pdf(html_file, o.pdf);
  } catch (const CommandError& e) {
    if (!html_out.empty() && html_out != "-") {
      throw CommandError(e.code(), std::string{e.what()} + "; the HTML report was written to " + html_out, e.notes());
    }
    throw;
  }
  std::cout << "pdf: " << o.pdf << "\n";
  return to_int(ExitCode::ok);
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i > 0 ? sep : "") + v[i];
  return s;
}

}  // namespace

std::string report_generated_at() {
  std::time_t t = std::time(nullptr);
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e != nullptr && *e != '\0') {
    char* end = nullptr;
    const long long v = std::strtoll(e, &end, 10);
    if (end != nullptr && *end == '\0' && v >= 0) t = static_cast<std::time_t>(v);
  }
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

fp::PatientReportInput patient_report_input(const fp::ResultStore& store, const std::string& patient,
                                            const std::string& store_label) {
  fp::PatientReportInput in;
  in.patient = patient;
  in.software_version = FLOWMRD_VERSION;
  in.generated_at = report_generated_at();
  in.store = store_label;
  std::vector<fp::TimelineRow> rows;
  try {
    rows = store.timeline(patient);
    if (rows.empty()) {
      std::vector<std::string> known;
      for (const fp::PatientRow& p : store.patients()) known.push_back(p.patient);
      throw CommandError(ExitCode::usage,
                         "--patient " + patient + ": no such patient in " + store.path().string() +
                             (known.empty() ? std::string{" (the store is empty)"} : "; patients: " + join(known, ", ")));
    }
    for (fp::TimelineRow& r : rows) {
      fp::ReportTimepoint tp;
      if (r.ok) tp.plots = fp::key_plots(store.plots(r.sample_row), r);
      tp.row = std::move(r);
      in.timepoints.push_back(std::move(tp));
    }
  } catch (const fp::StoreError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }

  // The protocol of the latest sample that names one; its display name from the result.
  std::string protocol_option, protocol_display;
  std::vector<std::string> names;
  for (const fp::ReportTimepoint& t : in.timepoints) {
    const fp::TimelineRow& r = t.row;
    if (r.protocol.empty()) continue;
    protocol_option = r.protocol;
    if (std::find(names.begin(), names.end(), r.protocol) == names.end()) names.push_back(r.protocol);
    if (!r.protocol_name.empty()) {
      protocol_display = r.protocol_name + (r.protocol_version.empty() ? "" : " v" + r.protocol_version);
    }
  }
  if (names.size() > 1) {
    in.notes.push_back("samples of this patient name different protocols (" + join(names, ", ") + "); thresholds of " +
                       protocol_option + " are drawn");
  }
  if (!protocol_option.empty()) {
    try {
      const panels::Protocol p = load_protocol_option(protocol_option);
      in.thresholds = fp::protocol_thresholds(p);
      if (protocol_display.empty()) protocol_display = p.name + (p.version.empty() ? "" : " v" + p.version);
    } catch (const CommandError& e) {
      in.notes.push_back("protocol " + protocol_option + " could not be loaded (" + e.what() +
                         "): no thresholds are drawn");
    } catch (const std::exception& e) {
      in.notes.push_back("protocol " + protocol_option + " could not be loaded (" + e.what() +
                         "): no thresholds are drawn");
    }
    if (protocol_display.empty()) protocol_display = protocol_option;
  }
  in.protocol = protocol_display;
  return in;
}

std::string patient_report_html(const fp::ResultStore& store, const std::string& patient, const std::string& store_label) {
  return fp::render_patient_report(patient_report_input(store, patient, store_label));
}

std::optional<std::string> find_chromium() {
  if (const char* e = std::getenv("FLOWMRD_CHROMIUM"); e != nullptr && *e != '\0') {
    if (is_executable_file(e)) return std::string{e};
    return std::nullopt;
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (dir.empty()) dir = ".";
      const fs::path candidate = fs::path(dir) / name;
      if (is_executable_file(candidate)) return candidate.string();
    }
  }
  return std::nullopt;
}

void write_pdf(const std::string& html_path, const std::string& pdf_path) {
  const std::optional<std::string> chromium = find_chromium();
  if (!chromium) {
    const char* e = std::getenv("FLOWMRD_CHROMIUM");
    const std::string where = e != nullptr && *e != '\0'
                                  ? std::string{"FLOWMRD_CHROMIUM="} + e + " is not an executable file"
                                  : std::string{"not found in PATH (set FLOWMRD_CHROMIUM)"};
    throw CommandError(ExitCode::output_failed, "--pdf needs Chromium (Debian package 'chromium'); " + where);
  }
  std::error_code ec;
  if (!fs::is_regular_file(html_path, ec)) {
    throw CommandError(ExitCode::output_failed, html_path + ": no HTML file to print");
  }
  const fs::path target = fs::absolute(pdf_path, ec);
  const fs::path dir = target.parent_path();
  if (!fs::is_directory(dir, ec)) {
    throw CommandError(ExitCode::output_failed, pdf_path + ": cannot write: directory " + dir.string() + " does not exist");
  }
  const fs::path partial = dir / ("." + target.filename().string() + "." + std::to_string(::getpid()) + ".tmp.pdf");
  TempDir profile("flowmrd-chromium-");
  const fs::path log = profile.path() / "chromium.log";
  const fs::path user_data = profile.path() / "profile";
  fs::create_directories(user_data, ec);
  const std::vector<std::string> args = {*chromium,
                                         "--headless",
                                         "--no-sandbox",
                                         "--disable-gpu",
                                         "--disable-quic",
                                         "--no-first-run",
                                         "--disable-background-networking",
                                         "--disable-component-update",
                                         "--disable-sync",
                                         "--disable-extensions",
                                         "--user-data-dir=" + user_data.string(),
                                         "--no-pdf-header-footer",
                                         "--print-to-pdf-no-header",
                                         "--print-to-pdf=" + partial.string(),
                                         file_url(html_path)};
  const int status = run_with_timeout(args, log, kChromiumTimeoutSeconds);
  const auto fail = [&](const std::string& why) {
    fs::remove(partial, ec);
    return CommandError(ExitCode::output_failed, pdf_path + ": " + why + last_lines(log, 5));
  };
  if (status == -1) {
    throw fail(*chromium + " did not finish within " + std::to_string(kChromiumTimeoutSeconds) + " s and was stopped");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                              : "was killed by signal " + std::to_string(WTERMSIG(status));
    throw fail(*chromium + " " + how + " while printing " + html_path);
  }
  if (!fs::is_regular_file(partial, ec) || !starts_with_pdf_magic(partial)) {
    throw fail(*chromium + " wrote no PDF for " + html_path);
  }
  fs::rename(partial, target, ec);
  if (ec) {
    fs::remove(partial, ec);
    throw CommandError(ExitCode::output_failed, pdf_path + ": cannot write: " + ec.message());
  }
}

std::function<int()> add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "The clinician's MRD report of one patient from a results store: findings, MRD table, MRD over time, "
      "key plots, provenance; self-contained HTML, optionally PDF via headless Chromium (docs/report.md)");
  cmd->add_option("--db", o->db, "Results store (SQLite) written by 'flowmrd batch'")->required()->option_text("FILE");
  cmd->add_option("--patient", o->patient, "Patient id as in the manifest ('flowmrd db patients' lists them)")
      ->required()
      ->option_text("ID");
  cmd->add_option("--html", o->html, "Write the HTML report here ('-' = standard output); default <patient>.html "
                                     "in the current directory when neither --html nor --pdf is given")
      ->option_text("OUT");
  cmd->add_option("--pdf", o->pdf,
                  "Also print the report to PDF with headless Chromium (Debian package 'chromium'; "
                  "FLOWMRD_CHROMIUM overrides the executable)")
      ->option_text("OUT");
  cmd->footer(
      "Set SOURCE_DATE_EPOCH (seconds since 1970) to fix the 'generated' time for byte-identical reports.\n"
      "Exit codes: 0 ok, 2 unknown patient or bad usage, 3 store missing or unreadable, 5 output (HTML/PDF) "
      "could not be written (docs/exit-codes.md).");
  return [o]() -> int { return run_report(*o); };
}

}  // namespace flowmrd::cli
