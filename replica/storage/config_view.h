// A backend's view of a replica's entry in a config file (litesync.yml,
// monitor.yml), so that each backend reads its own keys (backend.h
// `location_from_config`, `settings_from_config`) while replica/ knows nothing of
// YAML: cmd/ adapts its checked maps (config_internal::MapView) to ConfigView.
// Errors cite the file, line and key like every config error. Not thread-safe;
// read on the main thread before anything starts.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace litesync {

class ConfigView {
 public:
  virtual ~ConfigView() = default;
  virtual bool Has(std::string_view key) const = 0;
  // An absent key leaves `out` unchanged and returns OK; a value of the wrong
  // kind is an error naming the key.
  virtual absl::Status ReadString(std::string_view key, std::string* out) const = 0;
  virtual absl::Status ReadBool(std::string_view key, bool* out) const = 0;
  // InvalidArgument `file:line: path.key: msg`, at the map itself when `key` is
  // empty.
  virtual absl::Status Error(std::string_view key, std::string_view msg) const = 0;
};

// One replica's entry as a backend's from_config functions read it.
struct ReplicaConfig {
  // The replica's own map.
  const ConfigView* replica = nullptr;
  // The map whose keys every replica inherits unless it sets them itself
  // (Litestream's top-level defaults, monitor.yml's defaults:), or null.
  const ConfigView* defaults = nullptr;
  // The replica's url, empty when it has none, and the map that wrote it (the
  // replica's own, or defaults' for monitor.yml's inherited url template).
  std::string url;
  const ConfigView* url_from = nullptr;
  // Records a key read differently from Litestream ("has no scheme: read as
  // https://..."); may be empty.
  std::function<void(const ConfigView& m, std::string_view key, std::string_view text)> note;

  // The map `key` is read from: the replica's when it sets the key, else the
  // defaults' when they do, else the replica's (so errors cite the line that set it).
  const ConfigView& From(std::string_view key) const {
    if (replica->Has(key) || defaults == nullptr || !defaults->Has(key)) return *replica;
    return *defaults;
  }
  void Note(const ConfigView& m, std::string_view key, std::string_view text) const {
    if (note) note(m, key, text);
  }
};

}  // namespace litesync
