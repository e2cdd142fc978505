// SPDX-License-Identifier: Apache-2.0
// The normal-marrow reference file (schema flowmrd.reference/1): JSON in and out, and the choice
// of the model that fits a tube's markers.
#include "flowmrd/pipeline/reference.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "fcs/sha256.hpp"

namespace flowmrd::pipeline {

namespace {
using Json = nlohmann::ordered_json;
constexpr const char* kSchema = "flowmrd.reference/1";
}  // namespace

std::string to_string(Compartment c) {
  switch (c) {
    case Compartment::b_lineage: return "b_lineage";
    case Compartment::cd19neg_window: return "cd19neg_window";
    case Compartment::myelomonocytic: return "myelomonocytic";
  }
  return "unknown";
}

Compartment compartment_from_string(const std::string& name) {
  for (auto c : {Compartment::b_lineage, Compartment::cd19neg_window, Compartment::myelomonocytic}) {
    if (to_string(c) == name) return c;
  }
  throw std::invalid_argument("unknown compartment '" + name +
                              "' (expected b_lineage, cd19neg_window or myelomonocytic)");
}

const ReferenceModel* NormalReference::best_model(Compartment compartment, const std::vector<std::string>& available,
                                                  std::size_t min_dims) const {
  const ReferenceModel* best = nullptr;
  std::size_t best_cover = 0;
  for (const auto& m : models) {
    if (m.compartment != compartment) continue;
    std::size_t cover = 0;
    for (const auto& d : m.dimensions) {
      if (std::find(available.begin(), available.end(), d) != available.end()) ++cover;
    }
    if (cover < min_dims) continue;
    if (best == nullptr || cover > best_cover || (cover == best_cover && m.events > best->events)) {
      best = &m;
      best_cover = cover;
    }
  }
  return best;
}

std::string reference_to_json(const NormalReference& r) {
  Json j;
  j["schema"] = kSchema;
  j["name"] = r.name;
  j["version"] = r.version;
  j["description"] = r.description;
  j["created_by"] = r.created_by;
  j["sources"] = r.sources;
  Json models = Json::array();
  for (const auto& m : r.models) {
    Json jm;
    jm["compartment"] = to_string(m.compartment);
    jm["dimensions"] = m.dimensions;
    jm["events"] = m.events;
    jm["files"] = m.files;
    Json comps = Json::array();
    for (std::size_t k = 0; k < m.mixture.size(); ++k) {
      const auto& c = m.mixture.component(k);
      Json jc;
      jc["label"] = k < m.component_labels.size() ? m.component_labels[k] : std::string{};
      jc["weight"] = c.weight;
      jc["mean"] = c.mean;
      jc["covariance"] = c.covariance;
      comps.push_back(std::move(jc));
    }
    jm["components"] = std::move(comps);
    models.push_back(std::move(jm));
  }
  j["models"] = std::move(models);
  return j.dump(1) + "\n";
}

NormalReference reference_from_json(const std::string& text, const std::string& label) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const std::exception& e) {
    throw ReferenceError(label + ": not valid JSON: " + e.what());
  }
  auto field = [&](const Json& obj, const char* key, const std::string& where) -> const Json& {
    if (!obj.is_object() || !obj.contains(key)) throw ReferenceError(label + ": " + where + key + ": missing");
    return obj.at(key);
  };
  if (!j.is_object() || j.value("schema", "") != kSchema) {
    throw ReferenceError(label + ": schema: expected \"" + kSchema + "\"");
  }
  NormalReference r;
  try {
    r.name = j.value("name", "");
    r.version = j.value("version", "");
    r.description = j.value("description", "");
    r.created_by = j.value("created_by", "");
    if (j.contains("sources")) r.sources = j.at("sources").get<std::vector<std::string>>();
    const Json& models = field(j, "models", "");
    if (!models.is_array()) throw ReferenceError(label + ": models: expected an array");
    for (std::size_t i = 0; i < models.size(); ++i) {
      const std::string where = "models[" + std::to_string(i) + "].";
      const Json& jm = models[i];
      ReferenceModel m;
      try {
        m.compartment = compartment_from_string(field(jm, "compartment", where).get<std::string>());
      } catch (const std::invalid_argument& e) {
        throw ReferenceError(label + ": " + where + "compartment: " + e.what());
      }
      m.dimensions = field(jm, "dimensions", where).get<std::vector<std::string>>();
      m.events = jm.value("events", std::uint64_t{0});
      m.files = jm.value("files", std::uint64_t{0});
      std::vector<gating::GmmComponent> comps;
      const Json& jc = field(jm, "components", where);
      for (std::size_t k = 0; k < jc.size(); ++k) {
        const std::string cw = where + "components[" + std::to_string(k) + "].";
        gating::GmmComponent c;
        c.weight = field(jc[k], "weight", cw).get<double>();
        c.mean = field(jc[k], "mean", cw).get<std::vector<double>>();
        c.covariance = field(jc[k], "covariance", cw).get<std::vector<double>>();
        if (c.mean.size() != m.dimensions.size() || c.covariance.size() != m.dimensions.size() * m.dimensions.size()) {
          throw ReferenceError(label + ": " + cw + "mean/covariance: sizes do not match the " +
                               std::to_string(m.dimensions.size()) + " dimensions");
        }
        m.component_labels.push_back(jc[k].value("label", ""));
        comps.push_back(std::move(c));
      }
      if (comps.empty()) throw ReferenceError(label + ": " + where + "components: empty");
      try {
        m.mixture = gating::GaussianMixture(std::move(comps));
      } catch (const std::invalid_argument& e) {
        throw ReferenceError(label + ": " + where + "components: " + e.what());
      }
      r.models.push_back(std::move(m));
    }
  } catch (const nlohmann::json::exception& e) {
    throw ReferenceError(label + ": wrong type: " + e.what());
  }
  return r;
}

NormalReference load_reference(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReferenceError(path.string() + ": cannot open the reference file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  NormalReference r = reference_from_json(text, path.string());
  r.sha256 = fcs::sha256_hex(std::as_bytes(std::span<const char>(text.data(), text.size())));
  return r;
}

std::filesystem::path default_reference_path() {
  if (const char* data = std::getenv("FLOWMRD_DATA"); data != nullptr && *data != '\0') {
    return std::filesystem::path(data) / "panels" / "reference" / "default.json";
  }
  return std::filesystem::path(FLOWMRD_SOURCE_DIR_PIPELINE) / "panels" / "reference" / "default.json";
}

}  // namespace flowmrd::pipeline
