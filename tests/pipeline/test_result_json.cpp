// SPDX-License-Identifier: Apache-2.0
// The result JSON (schema flowmrd.result/1) on hand-built results: schema and field types, fixed
// key order, byte-identical output, phenotype round trip through --diagnosis, no NaN for a
// not-evaluable result, escaping, and clear errors when reading phenotypes back.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowmrd/pipeline/result_json.hpp"

namespace fp = flowmrd::pipeline;
using nlohmann::ordered_json;

namespace {

fp::BlastPhenotype phenotype() {
  fp::BlastPhenotype p;
  p.population = "b_blasts";
  p.tube = "p1-day15.fcs";
  p.events = 412;
  p.counterpart = "hematogone";
  p.medians = {{"CD10", 3.1234567891234, 24012.5, 2.6}, {"CD38", 1.9, 1100.0, std::nullopt}};
  p.aberrancies = {{"CD38", "under", -1.0123, "CD38 under-expressed (-1.0 decades vs. stage I hematogones)"}};
  p.dimensions = {"CD10", "CD38"};
  p.mean = {3.1234567891234567, 1.9000000000000001};
  p.covariance = {0.041234567890123, 0.0012, 0.0012, 0.0523456789012345};
  return p;
}

fp::AnalysisResult sample_result() {
  fp::AnalysisResult r;
  fp::TubeAnalysis ta;
  ta.tube.path = "data/p1-day15.fcs";
  ta.tube.label = "p1-day15.fcs";
  ta.tube.sha256 = std::string(64, 'a');
  ta.tube.events = 200000;
  ta.tube.cytometer = "FACSCanto II";
  ta.tube.keywords = {{"$DATE", "01-JAN-2024"}, {"$CYT", "FACSCanto II"}};
  ta.tube.panel.name = "b-lineage-mrd";
  ta.tube.panel.version = "1";
  ta.tube.panel.source = "/somewhere/panels/defs/b-lineage-mrd.toml";
  ta.tube.resolution.panel = "b-lineage-mrd";
  ta.tube.resolution.markers = {
      {"CD19", flowmrd::panels::MarkerRole::lineage, 7, "PE-Cy7-A", "CD19 PE-Cy7", flowmrd::panels::MatchSource::stain},
      {"FSC-A", flowmrd::panels::MarkerRole::scatter, 0, "FSC-A", "", flowmrd::panels::MatchSource::name}};
  ta.tube.resolution.unresolved = {{"SYTO 41", false, false, {}}};
  ta.tube.compensation = flowmrd::gating::CompensationSource{flowmrd::gating::CompensationSource::Kind::file_keyword,
                                                             "$SPILLOVER", std::string(64, 'b')};
  ta.tube.issues = {{"data_segment_longer", fcs::Severity::warning, "DATA end offset one byte past the data", 773934,
                     "$ENDDATA", 1}};
  ta.tube.notes = {"tube note"};
  fp::PlacedGate g;
  g.population = "singlets";
  g.parent = "cells";
  g.x = {0, "FSC-A", "linear"};
  g.y = fp::GateAxis{1, "FSC-H", "linear"};
  g.gate = flowmrd::gating::PolygonGate{{}, {}, {{0, 0}, {1, 0}, {1, 1}}};
  g.method = "ratio tail cut";
  g.note = "FSC-H/FSC-A ratio cut at 0.82";
  ta.gates.push_back(g);
  ta.pregate.gates.push_back(g);
  ta.pregate.anomalies.push_back({10.0, 12.5, 3000, 0.15, "flow_rate", false, "flow rate dropped to 15%"});
  ta.pregate.notes = {"pregate note"};
  r.tubes.push_back(std::move(ta));

  r.populations = {
      {"all_events", "All events", "", "p1-day15.fcs", 200000, 100.0, std::nullopt},
      {"nucleated", "Nucleated cells", "viable", "p1-day15.fcs", 180000, 97.5, 100.0},
      {"b_blasts", "B-lineage blasts", "b_cells", "p1-day15.fcs", 412, 4.12, 412.0 / 180000.0 * 100.0},
  };
  r.mrd = fp::compute_mrd(412, 180000);
  r.components = {{"b_blasts", "p1-day15.fcs", 412, 180000, 412.0 / 180000.0 * 100.0}};
  r.phenotypes = {phenotype()};
  r.flags = {{"cd19_negative", false, 3, 3.0 / 1800.0, 3.0 / 4.15, "p1-day15.fcs", "no CD19-negative blasts"},
             {"low_cellularity", false, 0, std::nullopt, std::nullopt, "", "enough cells"}};
  r.coverage.b_lineage = true;
  r.coverage.b_lineage_tube = "p1-day15.fcs";
  r.coverage.notes = {"lineage switch not evaluable: no tube has CD33 or CD64"};
  r.reference_name = "default";
  r.reference_version = "1";
  r.reference_sha256 = std::string(64, 'c');
  r.notes = {"a note"};
  return r;
}

fp::ResultContext sample_context() {
  fp::ResultContext c;
  c.software_version = "0.1.0";
  c.timepoint = "eoi";
  c.clinical = {{"age_days", "120"}, {"kmt2a", "rearranged"}};
  c.protocol_inputs.mrd_percent["eoi"] = 0.23;
  c.protocol_inputs.mrd_negative["eoi"] = false;
  c.protocol_inputs.age_days = 120;
  c.protocol_inputs.kmt2a = "rearranged";
  fp::Evaluation e;
  e.protocol = "Interfant-21";
  e.version = "1";
  e.status = fp::RiskStatus::assigned;
  e.risk_group = "HR";
  e.rule = fp::RuleRef{"hr-mrd-eoi", "HR: MRD >= 1% after induction", "mrd_percent@eoi >= 1", true};
  e.message = "HR (rule hr-mrd-eoi)";
  fp::AlertResult a;
  a.rule = {"alert-cd19", "CD19-negative", "cd19_negative@eoi == true", false};
  a.evaluable = false;
  a.missing = {"cd19_negative@eoi"};
  e.alerts = {a};
  c.evaluation = e;
  c.decision_threshold_percent = 0.01;
  c.protocol_option = "interfant-21";
  c.analysis.mrd.decision_threshold_percent = 0.01;
  c.analysis.threads = 7;
  c.events_file = "events.csv";
  return c;
}

std::vector<std::string> keys(const ordered_json& j) {
  std::vector<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.push_back(it.key());
  return k;
}

}  // namespace

TEST(ResultJson, SchemaAndFields) {
  const std::string text = fp::result_to_json(sample_result(), sample_context());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const ordered_json j = ordered_json::parse(text);
  EXPECT_EQ(keys(j), (std::vector<std::string>{"schema", "timepoint", "patient_id", "sample_id", "events_file",
                                               "fcs_sha256", "mrd", "flags", "populations", "coverage", "protocol",
                                               "provenance", "notes"}));
  EXPECT_EQ(j["schema"], "flowmrd.result/1");
  EXPECT_EQ(j["timepoint"], "eoi");
  EXPECT_TRUE(j["patient_id"].is_null());
  EXPECT_EQ(j["events_file"], "events.csv");
  EXPECT_EQ(j["fcs_sha256"], std::string(64, 'a'));

  const auto& m = j["mrd"];
  EXPECT_EQ(keys(m), (std::vector<std::string>{"status", "blast_events", "denominator_events", "denominator", "percent",
                                               "lod_percent", "lloq_percent", "ci95_percent", "confidence",
                                               "sensitivity_one_in", "lod_events", "lloq_events",
                                               "decision_threshold_percent", "sentence", "message", "components",
                                               "phenotypes"}));
  EXPECT_EQ(m["status"], "positive");
  EXPECT_EQ(m["blast_events"], 412);
  EXPECT_EQ(m["denominator_events"], 180000);
  EXPECT_NEAR(m["percent"].get<double>(), 412.0 / 1800.0, 1e-9);
  ASSERT_TRUE(m["ci95_percent"].is_array());
  ASSERT_EQ(m["ci95_percent"].size(), 2U);
  EXPECT_LT(m["ci95_percent"][0].get<double>(), m["percent"].get<double>());
  EXPECT_GT(m["ci95_percent"][1].get<double>(), m["percent"].get<double>());
  EXPECT_EQ(m["lod_events"], 20);
  EXPECT_EQ(m["sensitivity_one_in"], 9000.0);
  EXPECT_EQ(m["sentence"], fp::describe(fp::compute_mrd(412, 180000)));
  EXPECT_TRUE(m["message"].is_null());
  ASSERT_EQ(m["components"].size(), 1U);
  EXPECT_EQ(keys(m["components"][0]),
            (std::vector<std::string>{"population", "tube", "events", "denominator_events", "percent"}));
  const auto& ph = m["phenotypes"][0];
  EXPECT_EQ(ph["population"], "b_blasts");
  EXPECT_EQ(ph["medians"][0]["marker"], "CD10");
  EXPECT_TRUE(ph["medians"][1]["normal_model"].is_null());
  EXPECT_EQ(ph["aberrancies"][0]["direction"], "under");
  EXPECT_EQ(ph["model"]["dimensions"].size(), 2U);

  ASSERT_EQ(j["flags"].size(), 2U);
  EXPECT_EQ(keys(j["flags"][0]), (std::vector<std::string>{"id", "raised", "events", "percent_nucleated",
                                                           "percent_of_blasts", "tube", "explanation"}));
  EXPECT_EQ(j["flags"][0]["id"], "cd19_negative");
  EXPECT_FALSE(j["flags"][0]["raised"].get<bool>());
  EXPECT_TRUE(j["flags"][1]["percent_nucleated"].is_null());
  EXPECT_TRUE(j["flags"][1]["tube"].is_null());

  ASSERT_EQ(j["populations"].size(), 3U);
  EXPECT_EQ(keys(j["populations"][0]), (std::vector<std::string>{"id", "name", "parent", "tube", "events",
                                                                 "percent_parent", "percent_nucleated"}));
  EXPECT_TRUE(j["populations"][0]["parent"].is_null());
  EXPECT_TRUE(j["populations"][0]["percent_nucleated"].is_null());
  EXPECT_EQ(j["populations"][1]["parent"], "viable");

  EXPECT_TRUE(j["coverage"]["b_lineage"]["evaluated"].get<bool>());
  EXPECT_EQ(j["coverage"]["b_lineage"]["tube"], "p1-day15.fcs");
  EXPECT_FALSE(j["coverage"]["lineage_switch"]["evaluated"].get<bool>());
  EXPECT_EQ(j["coverage"]["notes"].size(), 1U);

  const auto& pr = j["protocol"];
  EXPECT_EQ(keys(pr), (std::vector<std::string>{"name", "version", "timepoint", "status", "risk_group", "rule",
                                                "message", "missing", "alerts", "notes",
                                                "decision_threshold_percent", "inputs"}));
  EXPECT_EQ(pr["name"], "Interfant-21");
  EXPECT_EQ(pr["status"], "assigned");
  EXPECT_EQ(pr["risk_group"], "HR");
  EXPECT_EQ(pr["rule"]["id"], "hr-mrd-eoi");
  EXPECT_EQ(pr["rule"]["condition"], "mrd_percent@eoi >= 1");
  EXPECT_FALSE(pr["alerts"][0]["evaluable"].get<bool>());
  EXPECT_EQ(pr["alerts"][0]["missing"][0], "cd19_negative@eoi");
  EXPECT_EQ(pr["decision_threshold_percent"], 0.01);
  EXPECT_EQ(pr["inputs"]["mrd_percent"]["eoi"], 0.23);
  EXPECT_EQ(pr["inputs"]["kmt2a"], "rearranged");
  EXPECT_TRUE(pr["inputs"]["wbc"].is_null());

  const auto& pv = j["provenance"];
  EXPECT_EQ(keys(pv), (std::vector<std::string>{"software_version", "inputs", "reference", "diagnosis", "model_scale",
                                                "options"}));
  EXPECT_EQ(pv["software_version"], "0.1.0");
  const auto& in = pv["inputs"][0];
  EXPECT_EQ(in["path"], "data/p1-day15.fcs");
  EXPECT_EQ(in["file"], "p1-day15.fcs");
  EXPECT_EQ(in["events"], 200000);
  EXPECT_EQ(in["panel"]["name"], "b-lineage-mrd");
  EXPECT_EQ(in["panel"]["file"], "b-lineage-mrd.toml");  // never the machine-specific directory
  EXPECT_EQ(in["markers"]["CD19"]["channel"], "PE-Cy7-A");
  EXPECT_EQ(in["markers"]["CD19"]["matched_by"], "stain");
  EXPECT_EQ(in["markers_missing"][0], "SYTO 41");
  EXPECT_EQ(in["compensation"]["kind"], flowmrd::gating::to_string(flowmrd::gating::CompensationSource::Kind::file_keyword));
  EXPECT_EQ(in["compensation"]["origin"], "$SPILLOVER");
  EXPECT_EQ(in["issues"][0]["code"], "data_segment_longer");
  EXPECT_EQ(in["gates"][0]["population"], "singlets");
  EXPECT_EQ(in["gates"][0]["method"], "ratio tail cut");
  EXPECT_EQ(in["gates"][0]["y"]["label"], "FSC-H");
  EXPECT_EQ(in["qc_anomalies"][0]["kind"], "flow_rate");
  EXPECT_EQ(in["notes"], ordered_json::array({"tube note"}));
  EXPECT_EQ(pv["reference"]["name"], "default");
  EXPECT_EQ(pv["reference"]["source"], "default");
  EXPECT_EQ(pv["model_scale"]["cofactor"], 150.0);
  EXPECT_EQ(pv["options"]["protocol"], "interfant-21");
  EXPECT_EQ(pv["options"]["clinical"]["age_days"], "120");
  EXPECT_EQ(pv["options"]["lod_events"], 20);
  EXPECT_FALSE(pv["options"].contains("threads"));
  EXPECT_EQ(text.find("threads"), std::string::npos);
  EXPECT_EQ(j["notes"][0], "a note");
}

TEST(ResultJson, ByteIdenticalAndThreadsNeverWritten) {
  const std::string a = fp::result_to_json(sample_result(), sample_context());
  fp::ResultContext c = sample_context();
  c.analysis.threads = 1;
  const std::string b = fp::result_to_json(sample_result(), c);
  EXPECT_EQ(a, b);
}

TEST(ResultJson, NumbersAreRoundedStatistics) {
  fp::AnalysisResult r = sample_result();
  r.mrd = fp::compute_mrd(200, 200000);  // 200 / 200000 * 100 is not exactly the double 0.1
  const ordered_json j = ordered_json::parse(fp::result_to_json(r, sample_context()));
  const std::string text = fp::result_to_json(r, sample_context());
  EXPECT_NE(text.find("\"percent\": 0.1,"), std::string::npos) << text.substr(0, 600);
  EXPECT_EQ(j["mrd"]["lod_percent"], 0.01);
}

TEST(ResultJson, ProtocolNotRequested) {
  fp::ResultContext c = sample_context();
  c.evaluation.reset();
  const ordered_json j = ordered_json::parse(fp::result_to_json(sample_result(), c));
  EXPECT_EQ(j["protocol"], ordered_json({{"status", "not requested"}}));
}

TEST(ResultJson, NotEvaluableHasNoNaN) {
  fp::AnalysisResult r = sample_result();
  r.mrd = fp::compute_mrd(0, 0);
  r.components = {{"b_blasts", "p1-day15.fcs", 0, 0, std::nan("")}};
  r.flags = {{"low_cellularity", true, 0, std::nan(""), std::numeric_limits<double>::infinity(), "p1-day15.fcs",
              "no nucleated cells"}};
  r.phenotypes.clear();
  const std::string text = fp::result_to_json(r, sample_context());
  EXPECT_EQ(text.find("NaN"), std::string::npos);
  EXPECT_EQ(text.find(": nan"), std::string::npos) << text.substr(text.find("nan") - 40, 80);
  EXPECT_EQ(text.find("Infinity"), std::string::npos);
  const ordered_json j = ordered_json::parse(text);
  EXPECT_EQ(j["mrd"]["status"], "not_evaluable");
  EXPECT_TRUE(j["mrd"]["percent"].is_null());
  EXPECT_TRUE(j["mrd"]["lod_percent"].is_null());
  EXPECT_TRUE(j["mrd"]["ci95_percent"].is_null());
  EXPECT_TRUE(j["mrd"]["sensitivity_one_in"].is_null());
  EXPECT_FALSE(j["mrd"]["message"].is_null());
  EXPECT_TRUE(j["mrd"]["components"][0]["percent"].is_null());
  EXPECT_TRUE(j["flags"][0]["percent_nucleated"].is_null());
  EXPECT_TRUE(j["flags"][0]["percent_of_blasts"].is_null());
  EXPECT_TRUE(j["mrd"]["phenotypes"].empty());
}

TEST(ResultJson, Escaping) {
  fp::AnalysisResult r = sample_result();
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \x07 unicode \xC2\xB5";
  r.notes = {nasty, "bad utf-8 \xFF\xFE end"};
  r.tubes[0].tube.path = "dir with \"quotes\"/p1.fcs";
  const std::string text = fp::result_to_json(r, sample_context());
  ordered_json j;
  ASSERT_NO_THROW(j = ordered_json::parse(text));
  EXPECT_EQ(j["notes"][0], nasty);
  EXPECT_EQ(j["provenance"]["inputs"][0]["path"], "dir with \"quotes\"/p1.fcs");
  // Invalid UTF-8 is replaced, never written raw (the file stays valid JSON).
  EXPECT_NE(j["notes"][1].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(text.find("\\u0007"), std::string::npos);
}

TEST(ResultJson, PhenotypeRoundTrip) {
  const fp::AnalysisResult r = sample_result();
  const std::string text = fp::result_to_json(r, sample_context());
  const auto back = fp::phenotypes_from_result_json(text, "dx.json");
  ASSERT_EQ(back.size(), 1U);
  const fp::BlastPhenotype& a = r.phenotypes[0];
  const fp::BlastPhenotype& b = back[0];
  EXPECT_EQ(b.population, a.population);
  EXPECT_EQ(b.tube, a.tube);
  EXPECT_EQ(b.events, a.events);
  EXPECT_EQ(b.counterpart, a.counterpart);
  EXPECT_EQ(b.dimensions, a.dimensions);
  EXPECT_EQ(b.mean, a.mean);              // exact: the model keeps full precision
  EXPECT_EQ(b.covariance, a.covariance);
  ASSERT_EQ(b.medians.size(), a.medians.size());
  for (std::size_t i = 0; i < a.medians.size(); ++i) {
    EXPECT_EQ(b.medians[i].marker, a.medians[i].marker);
    EXPECT_NEAR(b.medians[i].model, a.medians[i].model, 1e-9);
    EXPECT_NEAR(b.medians[i].linear, a.medians[i].linear, 1e-6);
    EXPECT_EQ(b.medians[i].normal_model.has_value(), a.medians[i].normal_model.has_value());
  }
  ASSERT_EQ(b.aberrancies.size(), 1U);
  EXPECT_EQ(b.aberrancies[0].marker, "CD38");
  EXPECT_EQ(b.aberrancies[0].direction, "under");
  EXPECT_NEAR(b.aberrancies[0].shift, -1.0123, 1e-12);
  EXPECT_EQ(b.aberrancies[0].text, a.aberrancies[0].text);
}

TEST(ResultJson, PhenotypeErrorsNameFileAndField) {
  const auto error_of = [](const std::string& text) {
    try {
      (void)fp::phenotypes_from_result_json(text, "dx.json");
    } catch (const std::runtime_error& e) {
      return std::string{e.what()};
    }
    return std::string{"no error"};
  };
  EXPECT_NE(error_of("{not json").find("dx.json: not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("dx.json: (document): expected a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"a": 1})").find("dx.json: schema: missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.gating/1"})").find("\"flowmrd.gating/1\" is not a flowmrd analysis result"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1"})").find("dx.json: mrd: missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts"}]}})")
                .find("dx.json: mrd.phenotypes[0].model: missing"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts",
              "model": {"dimensions": ["CD10", "CD38"], "mean": [1], "covariance": [1, 0, 0, 1]}}]}})")
                .find("mrd.phenotypes[0].model.mean: expected 2 numbers (one per dimension), got 1"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts",
              "model": {"dimensions": ["CD10"], "mean": [1], "covariance": [1, 0]}}]}})")
                .find("mrd.phenotypes[0].model.covariance: expected 1 number ("),
            std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts",
              "model": {"dimensions": ["CD10"], "mean": ["x"], "covariance": [1]}}]}})")
                .find("mrd.phenotypes[0].model.mean[0]: expected a number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts",
              "aberrancies": [{"marker": "CD38", "direction": "sideways", "shift": 1}],
              "model": {"dimensions": [], "mean": [], "covariance": []}}]}})")
                .find("mrd.phenotypes[0].aberrancies[0].direction: expected \"over\" or \"under\""),
            std::string::npos);
  // A result without phenotypes is valid: no blasts were found at diagnosis.
  EXPECT_TRUE(fp::phenotypes_from_result_json(R"({"schema": "flowmrd.result/1", "mrd": {"phenotypes": []}})", "dx.json")
                  .empty());
}

TEST(ResultJson, TimepointInputsFromResultAndFromJson) {
  fp::AnalysisResult r = sample_result();
  r.coverage.cd19_negative = true;
  r.flags[0].raised = true;  // cd19_negative
  fp::ProtocolInputs direct;
  fp::add_timepoint_inputs(r, "eoi", direct);
  ASSERT_EQ(direct.mrd_percent.count("eoi"), 1U);
  EXPECT_DOUBLE_EQ(direct.mrd_percent["eoi"], *r.mrd.percent);
  EXPECT_FALSE(direct.mrd_negative["eoi"]);
  EXPECT_TRUE(direct.cd19_negative["eoi"]);
  EXPECT_EQ(direct.lineage_switch.count("eoi"), 0U);  // not evaluated: not passed

  fp::ProtocolInputs read;
  const std::string text = fp::result_to_json(r, sample_context());
  EXPECT_EQ(fp::add_timepoint_inputs_from_result_json(text, "eoi.json", read), "eoi");
  EXPECT_NEAR(read.mrd_percent["eoi"], direct.mrd_percent["eoi"], 1e-9);
  EXPECT_EQ(read.mrd_negative, direct.mrd_negative);
  EXPECT_EQ(read.cd19_negative, direct.cd19_negative);
  EXPECT_EQ(read.lineage_switch, direct.lineage_switch);

  // A negative whose LOD misses the decision threshold gives no number to decide on.
  fp::MrdOptions o;
  o.decision_threshold_percent = 0.01;
  r.mrd = fp::compute_mrd(3, 50000, o);
  ASSERT_EQ(r.mrd.status, fp::MrdStatus::insufficient_sensitivity);
  fp::ProtocolInputs insufficient;
  fp::add_timepoint_inputs(r, "eoi", insufficient);
  EXPECT_TRUE(insufficient.mrd_percent.empty());
  EXPECT_TRUE(insufficient.mrd_negative.empty());
  fp::ProtocolInputs insufficient_json;
  (void)fp::add_timepoint_inputs_from_result_json(fp::result_to_json(r, sample_context()), "x.json", insufficient_json);
  EXPECT_TRUE(insufficient_json.mrd_percent.empty());

  // A plain negative passes mrd_negative = true.
  r.mrd = fp::compute_mrd(3, 500000, o);
  fp::ProtocolInputs negative;
  fp::add_timepoint_inputs(r, "d29", negative);
  EXPECT_TRUE(negative.mrd_negative["d29"]);

  // Without a timepoint the result cannot be placed in a protocol.
  fp::ResultContext c = sample_context();
  c.timepoint.clear();
  fp::ProtocolInputs none;
  try {
    (void)fp::add_timepoint_inputs_from_result_json(fp::result_to_json(r, c), "old.json", none);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("old.json: timepoint: missing"), std::string::npos) << e.what();
  }
}
