// SPDX-License-Identifier: Apache-2.0
// The engine of `flowmrd batch` (batch_runner.hpp). A sample depends on earlier samples of its
// patient: the diagnosis phenotype guides its blast search and earlier timepoints' results feed
// the protocol. The batch therefore runs in rounds: round r holds the r-th sample of every
// patient, so everything a sample needs was finished in an earlier round and samples of a round
// are independent. Each round is one TBB pipeline with at most --jobs samples in flight:
//   1. ordered read: resolve panel/protocol/dependencies, fingerprint, --resume check, load tubes
//   2. parallel analysis: analyse, evaluate the protocol, render plots and the result JSON
//   3. ordered write: result.json, plots, outcome.json (last), then the store, then progress
// Memory is bounded by the number of samples in flight, not by the batch size.
#include "batch_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>

#include "cmd_analyze.hpp"
#include "cmd_report.hpp"
#include "exit_codes.hpp"
#include "fcs/sha256.hpp"
#include "flowmrd/pipeline/analysis_plots.hpp"
#include "flowmrd/pipeline/manifest.hpp"
#include "flowmrd/pipeline/report.hpp"
#include "flowmrd/pipeline/result_json.hpp"
#include "flowmrd/pipeline/store.hpp"
#include "json_issue.hpp"
#include "read_input.hpp"

namespace flowmrd::cli {

namespace fs = std::filesystem;
namespace fp = flowmrd::pipeline;
namespace pn = flowmrd::panels;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kOutcomeSchema = "flowmrd.outcome/1";

std::string sha256_text(std::string_view text) {
  return fcs::sha256_hex(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

std::string sample_id(const fp::ManifestSample& s) { return s.patient + "/" + s.sample; }

// A plot as recorded in outcome.json and the store.
struct PlotEntry {
  std::string file, title, tube;
};

// What is known about a finished sample: from this run, or read back from its outcome.json.
struct Outcome {
  bool known = false;
  bool ok = false;
  std::string label;  // "analysed", "skipped (unchanged)", "failed"
  std::string fingerprint;
  std::string protocol_timepoint;
  std::string error_kind, error_message;
  std::string result_json, result_sha256;
  std::vector<PlotEntry> plots;
  std::vector<fp::StoredTube> tubes;
  std::vector<std::string> warnings;
  std::uint64_t events = 0;
  double seconds = 0.0;
};

// A manifest item (panel, protocol) loaded once per batch; a failure is kept as the reason
// every sample that names it fails with.
template <class T>
struct Cached {
  std::optional<T> value;
  std::string error;
  std::string sha256;  // of the file(s) it came from: part of the fingerprint
};

// One sample on its way through the pipeline.
struct Work {
  std::size_t index = 0;
  std::string id;
  fs::path dir;
  bool skip = false;
  bool failed = false;
  std::string error_kind, error_message;
  std::vector<std::string> warnings;
  std::string protocol_timepoint;
  std::string fingerprint_base;  // everything but the tube hashes
  std::string fingerprint;
  std::vector<fp::StoredTube> tubes;
  std::vector<fp::Tube> loaded;
  const std::vector<pn::Panel>* panels = nullptr;
  const pn::Protocol* protocol = nullptr;
  fp::ResultContext ctx;
  fp::AnalysisOptions options;
  std::string result_json;
  std::vector<fp::RenderedPlot> plots;
  std::uint64_t events = 0;
  std::chrono::steady_clock::time_point started;
  double seconds = 0.0;
  Outcome disk;  // for a skipped sample: what its outcome.json says

  void fail(std::string kind, std::string message) {
    failed = true;
    error_kind = std::move(kind);
    error_message = std::move(message);
    loaded.clear();
    plots.clear();
    result_json.clear();
  }
};

std::string kind_of(ExitCode code) {
  switch (code) {
    case ExitCode::input_invalid: return "input_invalid";
    case ExitCode::unsupported: return "unsupported";
    case ExitCode::analysis_failed: return "analysis_failed";
    case ExitCode::output_failed: return "output_failed";
    case ExitCode::usage: return "manifest";
    default: return "internal_error";
  }
}

std::string kind_of(fp::AnalysisErrorKind kind) {
  switch (kind) {
    case fp::AnalysisErrorKind::input_invalid: return "input_invalid";
    case fp::AnalysisErrorKind::panel_mismatch: return "panel_mismatch";
    case fp::AnalysisErrorKind::analysis_failed: return "analysis_failed";
  }
  return "analysis_failed";
}

// ---------------------------------------------------------------------------------------------
// outcome.json: the completion record of a sample folder

std::string outcome_to_json(const fp::ManifestSample& s, const Outcome& o) {
  json j;
  j["schema"] = kOutcomeSchema;
  j["patient"] = s.patient;
  j["sample"] = s.sample;
  j["status"] = o.ok ? "ok" : "failed";
  j["fingerprint"] = o.fingerprint;
  j["protocol_timepoint"] = o.protocol_timepoint;
  j["error_kind"] = o.ok ? json(nullptr) : json(o.error_kind);
  j["error"] = o.ok ? json(nullptr) : json(o.error_message);
  j["result"] = o.ok ? json("result.json") : json(nullptr);
  j["result_sha256"] = o.ok ? json(o.result_sha256) : json(nullptr);
  j["events"] = o.events;
  json plots = json::array();
  for (const PlotEntry& p : o.plots) plots.push_back({{"file", "plots/" + p.file}, {"title", p.title}, {"tube", p.tube}});
  j["plots"] = plots;
  json tubes = json::array();
  for (const fp::StoredTube& t : o.tubes) tubes.push_back({{"label", t.label}, {"path", t.path}, {"sha256", t.sha256}});
  j["tubes"] = tubes;
  j["warnings"] = o.warnings;
  j["software_version"] = FLOWMRD_VERSION;
  return j.dump(2) + "\n";
}

// Read back a sample folder's outcome. A missing, unreadable or inconsistent folder (a result
// whose hash does not match, a plot that is missing) is "unknown": the sample runs again.
Outcome read_outcome(const fs::path& dir, bool with_plot_check = true) {
  Outcome o;
  std::error_code ec;
  const fs::path file = dir / "outcome.json";
  if (!fs::is_regular_file(file, ec)) return o;
  try {
    const json j = json::parse(read_text(file.string()));
    if (j.value("schema", "") != kOutcomeSchema) return o;
    o.ok = j.at("status").get<std::string>() == "ok";
    o.fingerprint = j.at("fingerprint").get<std::string>();
    o.protocol_timepoint = j.value("protocol_timepoint", "");
    o.events = j.value("events", std::uint64_t{0});
    if (!o.ok) {
      o.error_kind = j.at("error_kind").get<std::string>();
      o.error_message = j.at("error").get<std::string>();
    }
    for (const auto& p : j.at("plots")) {
      std::string f = p.at("file").get<std::string>();
      if (f.starts_with("plots/")) f = f.substr(6);
      o.plots.push_back({f, p.at("title").get<std::string>(), p.at("tube").get<std::string>()});
    }
    for (const auto& t : j.at("tubes")) {
      o.tubes.push_back({t.at("label").get<std::string>(), t.at("path").get<std::string>(),
                         t.at("sha256").get<std::string>()});
    }
    for (const auto& w : j.at("warnings")) o.warnings.push_back(w.get<std::string>());
    if (o.ok) {
      o.result_sha256 = j.at("result_sha256").get<std::string>();
      o.result_json = read_text((dir / "result.json").string());
      if (sha256_text(o.result_json) != o.result_sha256) return Outcome{};
      if (with_plot_check) {
        for (const PlotEntry& p : o.plots) {
          if (!fs::is_regular_file(dir / "plots" / p.file, ec)) return Outcome{};
        }
      }
    }
  } catch (const std::exception&) {
    return Outcome{};
  }
  o.known = true;
  return o;
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  const std::string text = read_text(path.string());
  return {text.begin(), text.end()};
}

// Remove what a killed earlier run may have left: temporary files of atomic writes.
void remove_temporaries(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const fs::path& d : {dir, dir / "plots"}) {
    for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().find(".tmp-") != std::string::npos) fs::remove(it->path(), ec);
    }
  }
}

void write_file_atomically(const fs::path& path, std::string_view bytes) { write_atomically(path.string(), bytes); }

// ---------------------------------------------------------------------------------------------

class Batch {
 public:
  Batch(const BatchOptions& o, const std::function<void(const BatchProgress&)>& progress)
      : o_(o), progress_(progress) {
    try {
      manifest_ = fp::load_manifest(o.manifest);
    } catch (const fp::ManifestError& e) {
      throw CommandError(ExitCode::input_invalid, e.what());
    }
    outcomes_.resize(manifest_.samples.size());
    select();
  }

  fs::path sample_dir(const fp::ManifestSample& s) const { return o_.out / "samples" / s.patient / s.sample; }

  // The samples whose results this one needs: the patient's diagnosis sample (its phenotype)
  // and every earlier sample (their measurements feed the protocol), in the patient's order.
  std::vector<std::size_t> dependencies(std::size_t index) const {
    const fp::ManifestSample& s = manifest_.samples[index];
    std::vector<std::size_t> deps;
    for (const fp::ManifestPatient& p : manifest_.patients) {
      if (p.id != s.patient) continue;
      for (std::size_t i : p.samples) {
        if (i == index) break;
        deps.push_back(i);
      }
    }
    return deps;
  }

  std::string plan_json() const {
    json j;
    j["manifest"] = fs::absolute(manifest_.path).lexically_normal().string();
    j["out"] = o_.out.string();
    json samples = json::array();
    for (const fp::ManifestPatient& p : manifest_.patients) {
      for (std::size_t i : p.samples) {
        if (!selected_[i]) continue;
        const fp::ManifestSample& s = manifest_.samples[i];
        json files = json::array();
        for (const fp::ManifestTube& t : s.tubes) files.push_back(fs::absolute(t.path).lexically_normal().string());
        json deps = json::array();
        for (std::size_t d : dependencies(i)) deps.push_back(sample_id(manifest_.samples[d]));
        samples.push_back({{"id", sample_id(s)},
                           {"patient", s.patient},
                           {"sample", s.sample},
                           {"timepoint", s.timepoint},
                           {"diagnosis", s.diagnosis},
                           {"error", s.error.empty() ? json(nullptr) : json(s.error)},
                           {"files", files},
                           {"dir", sample_dir(s).string()},
                           {"outcome", (sample_dir(s) / "outcome.json").string()},
                           {"depends_on", deps}});
      }
    }
    j["samples"] = samples;
    return j.dump(2) + "\n";
  }

  BatchTotals run() {
    std::error_code ec;
    fs::create_directories(o_.out, ec);
    if (ec) throw CommandError(ExitCode::output_failed, o_.out.string() + ": cannot create the output folder: " + ec.message());
    std::optional<tbb::global_control> limit;
    if (o_.jobs > 0) limit.emplace(tbb::global_control::max_allowed_parallelism, o_.jobs);
    const unsigned jobs = o_.jobs > 0 ? o_.jobs : std::max(1U, static_cast<unsigned>(tbb::info::default_concurrency()));

    if (o_.store) {
      const fs::path db = o_.db.empty() ? o_.out / "flowmrd.sqlite" : o_.db;
      try {
        store_.emplace(fp::ResultStore::open(db));
      } catch (const fp::StoreError& e) {
        throw CommandError(ExitCode::output_failed, e.what());
      }
      totals_.store = db;
      json detail = {{"manifest", manifest_.path.string()}, {"manifest_sha256", file_sha256(manifest_.path.string())},
                     {"samples", std::count(selected_.begin(), selected_.end(), true)}, {"resume", o_.resume}};
      store_->audit("batch-started", who(), detail.dump());
    }
    load_reference();

    // Rounds: the r-th selected sample of every patient.
    std::vector<std::vector<std::size_t>> rounds;
    for (const fp::ManifestPatient& p : manifest_.patients) {
      std::size_t r = 0;
      for (std::size_t i : p.samples) {
        if (!selected_[i]) continue;
        if (rounds.size() <= r) rounds.emplace_back();
        rounds[r++].push_back(i);
      }
    }
    total_ = static_cast<std::size_t>(std::count(selected_.begin(), selected_.end(), true));
    started_ = std::chrono::steady_clock::now();
    for (const auto& round : rounds) run_round(round, jobs);

    for (std::size_t i = 0; i < selected_.size(); ++i) {
      if (selected_[i] && !outcomes_[i].known) ++totals_.not_run;
    }
    if (o_.store) {
      json detail = {{"analysed", totals_.analysed}, {"skipped", totals_.skipped}, {"failed", totals_.failed},
                     {"not_run", totals_.not_run}};
      store_->audit("batch-finished", who(), detail.dump());
      if (o_.reports) write_reports();
    }
    if (o_.only.empty()) write_summary();
    return totals_;
  }

 private:
  void select() {
    selected_.assign(manifest_.samples.size(), o_.only.empty());
    std::set<std::string> unmatched(o_.only.begin(), o_.only.end());
    for (std::size_t i = 0; i < manifest_.samples.size(); ++i) {
      const fp::ManifestSample& s = manifest_.samples[i];
      for (const std::string& id : o_.only) {
        if (id == sample_id(s) || id == s.patient) {
          selected_[i] = true;
          unmatched.erase(id);
        }
      }
    }
    if (!unmatched.empty()) {
      std::string known;
      for (const auto& s : manifest_.samples) known += (known.empty() ? "" : ", ") + sample_id(s);
      throw CommandError(ExitCode::usage, "--only " + *unmatched.begin() + ": no such sample or patient in " +
                                              manifest_.path.string() + " (samples: " + known + ")");
    }
  }

  fp::AuditContext who() const {
    fp::AuditContext w;
    w.command_line = o_.command_line;
    w.software_version = FLOWMRD_VERSION;
    return w;
  }

  void load_reference() {
    reference_ = load_reference_option(o_.reference);
    const fs::path path = o_.reference.empty() ? fp::default_reference_path() : fs::path(o_.reference);
    reference_sha_ = file_sha256(path.string());
  }

  const Cached<std::vector<pn::Panel>>& panels_for(const std::string& option) {
    auto it = panels_.find(option);
    if (it != panels_.end()) return it->second;
    Cached<std::vector<pn::Panel>> c;
    try {
      c.value = panels_for_option(option);
      std::string hashes;
      for (const pn::Panel& p : *c.value) hashes += file_sha256(p.source.string()) + ";";
      c.sha256 = sha256_text(hashes);
    } catch (const CommandError& e) {
      c.error = std::string{"panel '"} + option + "': " + e.what();
    }
    return panels_.emplace(option, std::move(c)).first->second;
  }

  const Cached<pn::Protocol>& protocol_for(const std::string& option) {
    auto it = protocols_.find(option);
    if (it != protocols_.end()) return it->second;
    Cached<pn::Protocol> c;
    try {
      c.value = load_protocol_option(option);
      c.sha256 = c.value->file.empty() ? "" : file_sha256(c.value->file);
    } catch (const CommandError& e) {
      c.error = std::string{"protocol '"} + option + "': " + e.what();
    }
    return protocols_.emplace(option, std::move(c)).first->second;
  }

  // The outcome of a sample this one depends on: from this run, else from its folder.
  const Outcome& dependency(std::size_t index) {
    if (!outcomes_[index].known && !selected_[index]) {
      outcomes_[index] = read_outcome(sample_dir(manifest_.samples[index]), false);
    }
    return outcomes_[index];
  }

  std::string manifest_place(const fp::ManifestSample& s) const {
    return manifest_.path.string() + ":" + std::to_string(s.line);
  }

  // Stage 1: everything but the analysis; runs in manifest order on one thread.
  void prepare(Work& w) {
    const fp::ManifestSample& s = manifest_.samples[w.index];
    w.started = std::chrono::steady_clock::now();
    for (const fp::ManifestTube& t : s.tubes) w.tubes.push_back({t.label, t.path.string(), ""});
    if (!s.error.empty()) return w.fail("manifest", s.error);

    const auto& panels = panels_for(s.panel);
    if (!panels.value) return w.fail("manifest", manifest_place(s) + ": " + panels.error);
    w.panels = &*panels.value;

    std::ostringstream fpr;  // the fingerprint text: every input and option that decides the result
    fpr << "flowmrd.batch-fingerprint/1\nsoftware=" << FLOWMRD_VERSION << "\npatient=" << s.patient
        << "\nsample=" << s.sample << "\npanel=" << s.panel << ":" << panels.sha256 << "\nreference=" << reference_sha_
        << "\nlod_events=" << o_.lod_events << "\nlloq_events=" << o_.lloq_events << "\n";

    w.ctx.software_version = FLOWMRD_VERSION;
    w.ctx.patient_id = s.patient;
    w.ctx.sample_id = s.sample;
    w.ctx.panel_option = s.panel;
    w.ctx.protocol_option = s.protocol;
    w.ctx.reference_option = o_.reference;
    w.options.threads = 0;  // the batch's --jobs limits every arena (tbb::global_control)
    w.options.mrd.lod_events = o_.lod_events;
    w.options.mrd.lloq_events = o_.lloq_events;

    std::vector<std::string> clinical;
    for (const auto& [k, v] : s.clinical) clinical.push_back(k + "=" + v);
    try {
      w.ctx.clinical = parse_clinical(clinical, w.ctx.protocol_inputs);
    } catch (const CommandError& e) {
      return w.fail("manifest", manifest_place(s) + ": " + e.what());
    }
    for (const auto& [k, v] : w.ctx.clinical) fpr << "clinical." << k << "=" << v << "\n";

    if (!s.protocol.empty()) {
      const auto& protocol = protocol_for(s.protocol);
      if (!protocol.value) return w.fail("manifest", manifest_place(s) + ": " + protocol.error);
      w.protocol = &*protocol.value;
      std::string tp = s.protocol_timepoint;
      if (tp.empty() && w.protocol->find_timepoint(s.timepoint) != nullptr) tp = s.timepoint;
      if (!tp.empty() && w.protocol->find_timepoint(tp) == nullptr) {
        std::string ids;
        for (const pn::Timepoint& t : w.protocol->timepoints) ids += (ids.empty() ? "" : ", ") + t.id;
        return w.fail("manifest", manifest_place(s) + ": protocol_timepoint '" + tp + "' is not a timepoint of " +
                                      w.protocol->name + " (timepoints: " + ids + ")");
      }
      if (tp.empty()) {
        w.warnings.push_back(w.protocol->name + " has no timepoint '" + s.timepoint +
                             "' (set protocol_timepoint): the sample is analysed but not evaluated against the protocol");
        w.protocol = nullptr;
      }
      w.protocol_timepoint = tp;
      fpr << "protocol=" << s.protocol << ":" << protocol.sha256 << "\nprotocol_timepoint=" << tp << "\n";
    }
    w.ctx.timepoint = w.protocol_timepoint;
    if (w.protocol != nullptr) w.ctx.decision_threshold_percent = decision_threshold(*w.protocol, w.protocol_timepoint);
    w.options.mrd.decision_threshold_percent = w.ctx.decision_threshold_percent;

    // Dependencies. Paths are recorded relative to this sample's folder, so the result does not
    // depend on where the output folder is.
    std::set<std::string> seen_timepoints;
    const std::vector<std::size_t> deps = dependencies(w.index);
    for (auto it = deps.rbegin(); it != deps.rend(); ++it) {
      const fp::ManifestSample& d = manifest_.samples[*it];
      const Outcome& dep = dependency(*it);
      const std::string rel = "../../" + d.patient + "/" + d.sample + "/result.json";
      if (d.diagnosis && !s.diagnosis) {
        if (!dep.known || !dep.ok) {
          w.warnings.push_back("the diagnosis sample " + sample_id(d) +
                               (dep.known ? " failed" : " has no result") +
                               ": analysed without its blast phenotype");
        } else {
          std::vector<fp::BlastPhenotype> ph;
          try {
            ph = fp::phenotypes_from_result_json(dep.result_json, rel);
          } catch (const std::runtime_error& e) {
            w.warnings.push_back(std::string{"diagnosis result unusable: "} + e.what());
          }
          if (ph.empty()) {
            w.warnings.push_back("no blast population was found at diagnosis (" + sample_id(d) +
                                 "): analysed without a diagnosis phenotype");
          } else {
            fp::DiagnosisSource src;
            src.path = rel;
            src.kind = "result";
            src.sha256 = dep.result_sha256;
            for (const auto& p : ph) src.populations.push_back(p.population);
            w.ctx.diagnosis = std::move(src);
            w.options.diagnosis = std::move(ph);
            fpr << "diagnosis=" << dep.result_sha256 << "\n";
          }
        }
      }
      // Earlier timepoints of the same protocol: the latest result per protocol timepoint.
      if (w.protocol == nullptr || !dep.known || !dep.ok || d.protocol != s.protocol) continue;
      const std::string& dtp = dep.protocol_timepoint;
      if (dtp.empty() || dtp == w.protocol_timepoint || !seen_timepoints.insert(dtp).second) continue;
      fp::PreviousResult pr;
      pr.path = rel;
      pr.sha256 = dep.result_sha256;
      try {
        pr.timepoint = fp::add_timepoint_inputs_from_result_json(dep.result_json, rel, w.ctx.protocol_inputs);
      } catch (const std::runtime_error& e) {
        w.warnings.push_back(std::string{"earlier result unusable: "} + e.what());
        continue;
      }
      w.ctx.previous.insert(w.ctx.previous.begin(), std::move(pr));
    }
    for (const fp::PreviousResult& pr : w.ctx.previous) fpr << "previous=" << pr.timepoint << ":" << pr.sha256 << "\n";
    w.fingerprint_base = fpr.str();

    // --resume: hash the files without parsing them; an unchanged sample is not analysed again.
    if (o_.resume) {
      std::string text = w.fingerprint_base;
      bool readable = true;
      for (fp::StoredTube& t : w.tubes) {
        try {
          t.sha256 = file_sha256(t.path);
        } catch (const std::exception&) {
          readable = false;
          break;
        }
        text += "tube=" + t.label + ":" + t.sha256 + "\n";
      }
      if (readable) {
        w.fingerprint = sha256_text(text);
        // A failed sample with the same fingerprint would fail the same way: it is not retried
        // either (a missing file has no fingerprint, so it is always tried again).
        Outcome disk = read_outcome(w.dir);
        if (disk.known && disk.fingerprint == w.fingerprint) {
          w.skip = true;
          w.disk = std::move(disk);
          return;
        }
      }
      for (fp::StoredTube& t : w.tubes) t.sha256.clear();
    }

    // Load the tubes (parse + hash in one read).
    std::string text = w.fingerprint_base;
    for (std::size_t k = 0; k < s.tubes.size(); ++k) {
      const std::string path = s.tubes[k].path.string();
      std::error_code ec;
      if (fs::is_directory(path, ec)) return w.fail("input_invalid", path + ": is a directory");
      if (!fs::exists(path, ec)) return w.fail("input_invalid", path + ": no such file");
      fp::LoadOptions lo;
      lo.threads = 0;
      try {
        fp::Tube tube = fp::load_tube(path, *w.panels, lo);
        for (const fcs::Issue& issue : tube.issues) {
          if (is_warning(issue)) w.warnings.push_back(issue_line(path, issue));
        }
        for (const fcs::Issue& issue : tube.resolution.issues) {
          if (is_warning(issue)) w.warnings.push_back(issue_line(path, issue));
        }
        w.tubes[k].sha256 = tube.sha256;
        w.events += tube.events;
        text += "tube=" + s.tubes[k].label + ":" + tube.sha256 + "\n";
        w.loaded.push_back(std::move(tube));
      } catch (const fp::AnalysisError& e) {
        w.fail(kind_of(e.kind()), analysis_error(e).what());
        fingerprint_of_unreadable(w, s);
        return;
      }
    }
    w.fingerprint = sha256_text(text);
  }

  // A sample whose tube could not be loaded still gets a fingerprint when its files can be
  // hashed, so `--resume` does not retry an unchanged truncated or non-FCS file.
  static void fingerprint_of_unreadable(Work& w, const fp::ManifestSample& s) {
    std::string text = w.fingerprint_base;
    for (std::size_t k = 0; k < s.tubes.size(); ++k) {
      try {
        w.tubes[k].sha256 = file_sha256(s.tubes[k].path.string());
      } catch (const std::exception&) {
        return;
      }
      text += "tube=" + s.tubes[k].label + ":" + w.tubes[k].sha256 + "\n";
    }
    w.fingerprint = sha256_text(text);
  }

  // Stage 2: the analysis; samples of a round run side by side.
  void analyse(Work& w) const {
    if (w.skip || w.failed) return;
    try {
      fp::AnalysisResult result = fp::analyze(std::move(w.loaded), reference_, w.options);
      w.loaded.clear();
      w.ctx.analysis = w.options;
      if (w.protocol != nullptr) {
        fp::add_timepoint_inputs(result, w.protocol_timepoint, w.ctx.protocol_inputs);
        w.ctx.evaluation = fp::evaluate(*w.protocol, w.ctx.protocol_inputs);
      }
      w.plots = fp::render_analysis_plots(result);
      w.result_json = fp::result_to_json(result, w.ctx);
    } catch (const fp::AnalysisError& e) {
      w.fail(kind_of(e.kind()), analysis_error(e).what());
    } catch (const std::bad_alloc&) {
      w.fail("analysis_failed", w.tubes.empty() ? w.id : w.tubes.front().path + ": out of memory");
    } catch (const std::exception& e) {
      w.fail("analysis_failed", (w.tubes.empty() ? w.id : w.tubes.front().path) + ": " + e.what());
    }
  }

  // Stage 3: outputs, store, progress; in manifest order on one thread.
  void finish(Work& w) {
    const fp::ManifestSample& s = manifest_.samples[w.index];
    Outcome o;
    if (w.skip) {
      o = std::move(w.disk);
      o.label = o.ok ? "skipped (unchanged)" : "failed";
    } else {
      o.ok = !w.failed;
      o.label = w.failed ? "failed" : "analysed";
      o.fingerprint = w.fingerprint;
      o.protocol_timepoint = w.protocol_timepoint;
      o.error_kind = w.error_kind;
      o.error_message = w.error_message;
      o.tubes = w.tubes;
      o.warnings = w.warnings;
      o.events = w.events;
      try {
        write_sample(w, o);
      } catch (const CommandError& e) {
        o.ok = false;
        o.label = "failed";
        o.error_kind = "output_failed";
        o.error_message = e.what();
      }
    }
    o.known = true;
    w.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - w.started).count();
    o.seconds = w.seconds;
    if (store_) record(s, w, o);
    if (o.label == "analysed") ++totals_.analysed;
    if (o.label == "failed") ++totals_.failed;
    if (o.label.starts_with("skipped")) ++totals_.skipped;
    if (!o.ok && o_.fail_fast) stop_ = true;
    events_done_ += o.label == "analysed" ? o.events : 0;
    outcomes_[w.index] = std::move(o);
    report_progress(w);
    w.plots.clear();
    w.result_json.clear();
  }

  void write_sample(Work& w, Outcome& o) {
    std::error_code ec;
    fs::create_directories(w.dir, ec);
    if (ec) throw CommandError(ExitCode::output_failed, w.dir.string() + ": cannot create: " + ec.message());
    remove_temporaries(w.dir);
    if (w.failed) {
      // The same failure again leaves the folder untouched (workflow engines go by file times).
      const std::string text = outcome_to_json(s_of(w), o);
      if (fs::is_regular_file(w.dir / "outcome.json", ec) && !fs::exists(w.dir / "result.json", ec) &&
          read_text((w.dir / "outcome.json").string()) == text) {
        return;
      }
    }
    // The outcome goes first (removed) and last (written): a folder without one is incomplete.
    fs::remove(w.dir / "outcome.json", ec);
    fs::remove_all(w.dir / "plots", ec);
    fs::remove(w.dir / "result.json", ec);
    if (!w.failed) {
      fs::create_directories(w.dir / "plots", ec);
      if (ec) throw CommandError(ExitCode::output_failed, (w.dir / "plots").string() + ": cannot create: " + ec.message());
      for (const fp::RenderedPlot& p : w.plots) {
        write_file_atomically(w.dir / "plots" / p.file_name,
                              std::string_view(reinterpret_cast<const char*>(p.png.data()), p.png.size()));
        o.plots.push_back({p.file_name, p.title, p.tube});
      }
      write_file_atomically(w.dir / "result.json", w.result_json);
      o.result_json = w.result_json;
      o.result_sha256 = sha256_text(w.result_json);
    }
    write_file_atomically(w.dir / "outcome.json", outcome_to_json(s_of(w), o));
  }

  const fp::ManifestSample& s_of(const Work& w) const { return manifest_.samples[w.index]; }

  void record(const fp::ManifestSample& s, const Work& w, const Outcome& o) {
    fp::SampleRecord r;
    r.patient = s.patient;
    r.sample = s.sample;
    r.timepoint = s.timepoint;
    r.protocol_timepoint = o.protocol_timepoint;
    r.date = s.date;
    r.protocol = s.protocol;
    r.panel = s.panel;
    r.diagnosis = s.diagnosis;
    r.clinical = s.clinical;
    r.tubes = o.tubes;
    r.fingerprint = o.fingerprint;
    r.ok = o.ok;
    r.error_kind = o.error_kind;
    r.error_message = o.error_message;
    r.result_json = o.result_json;
    for (const PlotEntry& p : o.plots) {
      fp::StoredPlot sp{p.file, p.title, p.tube, {}};
      // Plots rendered in this run are still in memory; a skipped sample's are read back.
      auto it = std::find_if(w.plots.begin(), w.plots.end(), [&](const auto& rp) { return rp.file_name == p.file; });
      if (it != w.plots.end()) {
        sp.png = it->png;
      } else {
        sp.png = read_bytes(w.dir / "plots" / p.file);
      }
      r.plots.push_back(std::move(sp));
    }
    try {
      store_->record(r, who());
    } catch (const fp::StoreError& e) {
      throw CommandError(ExitCode::output_failed, e.what());
    }
  }

  void report_progress(const Work& w) {
    if (!progress_) return;
    const Outcome& o = outcomes_[w.index];
    BatchProgress p;
    p.done = ++done_;
    p.total = total_;
    p.events = events_done_;
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    p.id = w.id;
    p.outcome = o.label;
    p.sample_s = o.seconds;
    if (!o.ok) {
      p.detail = o.error_message;
    } else {
      try {
        p.detail = json::parse(o.result_json).at("mrd").value("sentence", "");
      } catch (const std::exception&) {
        p.detail.clear();
      }
    }
    progress_(p);
  }

  void run_round(const std::vector<std::size_t>& round, unsigned jobs) {
    std::vector<std::unique_ptr<Work>> works;
    for (std::size_t i : round) {
      auto w = std::make_unique<Work>();
      w->index = i;
      w->id = sample_id(manifest_.samples[i]);
      w->dir = sample_dir(manifest_.samples[i]);
      works.push_back(std::move(w));
    }
    std::size_t next = 0;
    tbb::parallel_pipeline(
        jobs,
        tbb::make_filter<void, Work*>(tbb::filter_mode::serial_in_order,
                                      [&](tbb::flow_control& fc) -> Work* {
                                        if (next == works.size() || stop_) {
                                          fc.stop();
                                          return nullptr;
                                        }
                                        Work* w = works[next++].get();
                                        try {
                                          prepare(*w);
                                        } catch (const CommandError& e) {
                                          w->fail(kind_of(e.code()), e.what());
                                        } catch (const std::exception& e) {
                                          w->fail("input_invalid", w->id + ": " + e.what());
                                        }
                                        return w;
                                      }) &
            tbb::make_filter<Work*, Work*>(tbb::filter_mode::parallel,
                                           [this](Work* w) {
                                             analyse(*w);
                                             return w;
                                           }) &
            tbb::make_filter<Work*, void>(tbb::filter_mode::serial_in_order, [&](Work* w) {
              finish(*w);
              *w = Work{};  // what a finished sample held (tubes, plots, JSON) is freed now
            }));
  }

  void write_reports() {
    std::error_code ec;
    fs::create_directories(o_.out / "reports", ec);
    if (ec) throw CommandError(ExitCode::output_failed, (o_.out / "reports").string() + ": cannot create: " + ec.message());
    const std::string label = totals_.store.filename().string();
    for (const fp::ManifestPatient& p : manifest_.patients) {
      bool any = false;
      for (std::size_t i : p.samples) any = any || (selected_[i] && outcomes_[i].known);
      if (!any) continue;
      const fs::path file = o_.out / "reports" / (p.id + ".html");
      write_file_atomically(file, patient_report_html(*store_, p.id, label));
      reports_[p.id] = file;
      totals_.reports.push_back(file);
    }
  }

  void write_summary() {
    std::vector<fp::BatchSummaryRow> rows;
    for (const fp::ManifestPatient& p : manifest_.patients) {
      for (std::size_t i : p.samples) {
        if (!selected_[i]) continue;
        const fp::ManifestSample& s = manifest_.samples[i];
        const Outcome& o = outcomes_[i];
        fp::BatchSummaryRow r;
        r.patient = s.patient;
        r.sample = s.sample;
        r.timepoint = s.timepoint;
        r.date = s.date;
        for (const fp::ManifestTube& t : s.tubes) r.files += (r.files.empty() ? "" : ";") + t.file;
        r.outcome = o.known ? o.label : "not run (--fail-fast)";
        r.error = o.error_message;
        if (o.known && o.ok) {
          try {
            const json j = json::parse(o.result_json);
            const json& m = j.at("mrd");
            if (m.contains("percent") && m["percent"].is_number()) r.mrd_percent = m["percent"].get<double>();
            r.mrd_status = m.value("status", "");
            for (const auto& f : j.at("flags")) {
              if (f.value("raised", false)) r.flags.push_back(f.value("id", ""));
            }
            const json& pr = j.at("protocol");
            if (pr.contains("risk_group") && pr["risk_group"].is_string()) r.risk_group = pr["risk_group"].get<std::string>();
          } catch (const std::exception&) {
            r.error = "result.json unreadable";
          }
        }
        if (auto it = reports_.find(s.patient); it != reports_.end()) r.report = "reports/" + s.patient + ".html";
        if (o.known) r.seconds = o.seconds;
        rows.push_back(std::move(r));
      }
    }
    totals_.summary_csv = o_.out / "summary.csv";
    totals_.summary_html = o_.out / "summary.html";
    write_file_atomically(totals_.summary_csv, fp::batch_summary_csv(rows));
    write_file_atomically(totals_.summary_html,
                          fp::batch_summary_html(rows, "flowmrd batch: " + manifest_.path.filename().string(),
                                                 FLOWMRD_VERSION, report_generated_at()));
  }

  const BatchOptions& o_;
  std::function<void(const BatchProgress&)> progress_;
  fp::Manifest manifest_;
  std::vector<bool> selected_;
  std::vector<Outcome> outcomes_;
  std::map<std::string, Cached<std::vector<pn::Panel>>> panels_;
  std::map<std::string, Cached<pn::Protocol>> protocols_;
  fp::NormalReference reference_;
  std::string reference_sha_;
  std::optional<fp::ResultStore> store_;
  std::map<std::string, fs::path> reports_;
  BatchTotals totals_;
  std::size_t total_ = 0;
  std::size_t done_ = 0;
  std::uint64_t events_done_ = 0;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

BatchTotals run_batch(const BatchOptions& options, const std::function<void(const BatchProgress&)>& progress) {
  Batch batch(options, progress);
  return batch.run();
}

std::string batch_plan_json(const BatchOptions& options) {
  Batch batch(options, {});
  return batch.plan_json();
}

}  // namespace flowmrd::cli
