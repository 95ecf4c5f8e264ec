// Parsing of `replica:` / `replicas:` entries: the type from url: or type: (or
// inferred from the keys), the location and settings each backend reads itself
// (replica/storage/backend.h `location_from_config`), defaults inherited from the
// top level, interval bounds.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/secret.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"
#include "replica/storage/backend.h"
#include "replica/storage/replica_client.h"

namespace litesync::config_internal {
namespace {

// Below this a sync loop only burns CPU and requests; Litestream's default is 1s.
constexpr absl::Duration kMinSyncInterval = absl::Milliseconds(10);

// Where a replica setting is read from: the replica's own map, else the top level's
// (Litestream's ReplicaSettings.SetDefaults), so errors cite the line that set it.
const MapView& From(const MapView& m, const ReplicaDefaults& d, std::string_view name) {
  if (m.Has(name) || d.top == nullptr || !d.top->Has(name)) return m;
  return *d.top;
}

// The backend's view of replica map `m` with the inherited defaults `d`.
ReplicaConfig ConfigOf(const MapView& m, const ReplicaDefaults& d) {
  ReplicaConfig c;
  c.replica = &m;
  c.defaults = d.top;
  c.note = [&d](const ConfigView& from, std::string_view key, std::string_view text) {
    Note(d, static_cast<const MapView&>(from), key, text);  // every view here is a MapView
  };
  return c;
}

// Sets the type from `url:` (or infers it from the keys when there is none) and
// has the backend read the location into `r`; `c.url` is the url read.
absl::Status ParseLocation(const MapView& replica, const ReplicaDefaults& d, ReplicaConfig* c,
                           ReplicaOptions* r) {
  std::string url, path;
  if (absl::Status s = replica.ReadString("url", &url); !s.ok()) return s;
  if (absl::Status s = replica.ReadString("path", &path); !s.ok()) return s;
  if (url.empty() && replica.Has("url")) return replica.Error("url", "is empty");
  // The url's map: the replica's own, or the one that wrote an inherited url template.
  const bool inherited = !replica.Has("url") && !replica.Has("path") && d.url_from != nullptr;
  if (inherited) url = d.url;
  const MapView& m = inherited ? *d.url_from : replica;
  const Backend* backend = FindBackend(r->type);
  if (!url.empty()) {
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
      return m.Error("url", fmt::format("must look like file:///backups/app or s3://bucket/prefix "
                                        "(got \"{}\"); a plain directory goes in path:",
                                        RedactUrl(url)));
    }
    std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
    if (std::string why = RefusedBackendReason(scheme); !why.empty()) {
      return m.Error("url", fmt::format("{}:// replicas are not supported: {}", scheme, why));
    }
    backend = FindBackend(scheme);
    if (!backend) {
      return m.Error("url", fmt::format("scheme must be {} (got \"{}\")", KnownBackends(), scheme));
    }
    if (!r->type.empty() && r->type != scheme) {
      return m.Error("type", fmt::format("is \"{}\" but url is an {}:// URL", r->type, scheme));
    }
    c->url = url;
    c->url_from = &m;
  } else if (r->type.empty()) {
    // Litestream: a replica without url: or type: is a file replica, unless it names a
    // bucket itself (litesync's reading: then it can only mean S3).
    backend = InferBackend(replica);
    if (!backend) {
      return replica.Error("", "needs a url (file:///backups/app or s3://bucket/prefix) or a path");
    }
  }
  r->type = std::string(backend->scheme);
  return backend->location_from_config(*c, r);
}

// compaction-intervals: [30s, 5m, 1h]: levels 1, 2, 3; missing entries and 0
// disable a level (and the levels above it, which are built from it).
absl::Status ParseCompactionIntervals(const MapView& m, ReplicaOptions* r) {
  constexpr std::string_view kKey = "compaction-intervals";
  std::vector<std::string> values;
  if (absl::Status s = m.ReadStringList(kKey, &values); !s.ok()) return s;
  if (!m.Has(kKey)) return absl::OkStatus();
  if (values.empty() || values.size() > r->compaction_intervals.size()) {
    return m.Error(kKey, fmt::format("must list 1 to {} durations, for levels 1, 2 and 3 (got {})",
                                     r->compaction_intervals.size(), values.size()));
  }
  r->compaction_intervals.fill(absl::ZeroDuration());
  for (size_t i = 0; i < values.size(); ++i) {
    absl::Duration d;
    if (!absl::ParseDuration(values[i], &d) || d < absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return m.Error(kKey, fmt::format("level {}: must be a duration like 30s, 5m or 1h, or 0 to "
                                       "disable the level (got \"{}\")",
                                       i + 1, values[i]));
    }
    r->compaction_intervals[i] = d;
  }
  return absl::OkStatus();
}

// sync-interval, retention, snapshot-interval, validation-interval,
// liveness-interval (the replica's own key only) and compaction-intervals: the replica's own key,
// else the inherited default.
absl::Status ParseIntervals(const MapView& m, const ReplicaDefaults& d, ReplicaOptions* r) {
  using DR = DurationRule;
  const MapView& sync_from = From(m, d, "sync-interval");
  if (absl::Status s = sync_from.ReadDuration("sync-interval", DR::kPositive, &r->sync_interval);
      !s.ok()) {
    return s;
  }
  if (r->sync_interval < kMinSyncInterval) {
    return sync_from.Error("sync-interval", fmt::format("must be at least {} (got {})",
                                                        absl::FormatDuration(kMinSyncInterval),
                                                        absl::FormatDuration(r->sync_interval)));
  }
  if (d.retention) r->retention = *d.retention;
  if (absl::Status s = m.ReadDuration("retention", DR::kPositive, &r->retention); !s.ok()) return s;
  if (d.retention_disabled) r->retention = absl::InfiniteDuration();
  if (d.snapshot_interval) r->snapshot_interval = *d.snapshot_interval;
  if (absl::Status s = m.ReadDuration("snapshot-interval", DR::kNonNegative, &r->snapshot_interval);
      !s.ok()) {
    return s;
  }
  if (d.validation_interval) r->validation_interval = *d.validation_interval;
  if (absl::Status s =
          From(m, d, "validation-interval")
              .ReadDuration("validation-interval", DR::kNonNegative, &r->validation_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = m.ReadDuration("liveness-interval", DR::kNonNegative, &r->liveness_interval);
      !s.ok()) {
    return s;
  }
  if (d.compaction_intervals) r->compaction_intervals = *d.compaction_intervals;
  return ParseCompactionIntervals(m, r);
}

}  // namespace

std::string ReplicaLocation(const ReplicaOptions& r) {
  const Backend* backend = FindBackend(r.type);
  return backend ? backend->location(r) : r.type;
}

absl::StatusOr<ReplicaOptions> ParseReplica(const std::string& file, const YAML::Node& node,
                                            const std::string& key, int parent_line,
                                            const ReplicaDefaults& d) {
  std::vector<std::string_view> known = {"type", "name", "url", "path"};
  for (const Backend* b : Backends()) {
    if (!b->naming_key.empty()) known.push_back(b->naming_key);
    known.insert(known.end(), b->settings_keys.begin(), b->settings_keys.end());
  }
  known.insert(known.end(),
               {"sync-interval", "retention", "snapshot-interval", "validation-interval",
                "liveness-interval", "compaction-intervals", "age", "retention-check-interval"});
  for (std::string_view k : kLitestreamReplicaOnlyKeys) known.push_back(k);
  known.insert(known.end(), d.extra_keys.begin(), d.extra_keys.end());
  absl::StatusOr<MapView> view = MapView::Make(file, node, key, parent_line, known);
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  if (m.Has("retention-check-interval")) {
    Note(d, m, "retention-check-interval", "ignored: retention is enforced after each compaction");
  }
  ReplicaOptions r;
  if (absl::Status s = m.ReadString("type", &r.type); !s.ok()) return s;
  r.type = absl::AsciiStrToLower(r.type);
  if (std::string why = RefusedBackendReason(r.type); m.Has("type") && !why.empty()) {
    return m.Error("type", fmt::format("\"{}\" replicas are not supported: {}", r.type, why));
  }
  if (m.Has("type") && !FindBackend(r.type)) {
    return m.Error("type", fmt::format("must be {} (got \"{}\")", KnownBackends(), r.type));
  }
  if (absl::Status s = m.ReadString("name", &r.name); !s.ok()) return s;
  ReplicaConfig c = ConfigOf(m, d);
  if (absl::Status s = ParseLocation(m, d, &c, &r); !s.ok()) return s;
  // After the type and the URL: "nats replicas are not supported" says more than
  // "password is a setting of nats replicas".
  for (const std::string& k : m.Keys()) {
    if (std::string why = RefusedKeyReason(k); !why.empty()) return m.Error(k, why);
    if (std::string why = IgnoredReplicaKeyReason(k); !why.empty()) Note(d, m, k, why);
  }

  for (const std::string& k : m.Keys()) {  // a key of another backend
    const Backend* owner = BackendOfKey(k);
    if (owner && owner->scheme != r.type) {
      return m.Error(k, fmt::format("applies only to {} replicas", owner->scheme));
    }
  }
  if (const Backend* backend = FindBackend(r.type); backend->settings_from_config) {
    if (absl::Status s = backend->settings_from_config(c, &r); !s.ok()) return s;
  }
  if (absl::Status s = ParseIntervals(m, d, &r); !s.ok()) return s;
  if (absl::Status s = ParseAge(m, &r.age); !s.ok()) return s;
  return r;
}

absl::StatusOr<std::vector<ReplicaOptions>> ParseReplicas(const MapView& owner,
                                                          const ReplicaDefaults& global) {
  std::vector<ReplicaOptions> out;
  std::vector<int> lines;
  if (owner.Has("replica") && owner.Has("replicas")) {
    return owner.Error("replicas", "give either replica: or replicas:, not both");
  }
  if (owner.Has("replica")) {
    absl::StatusOr<ReplicaOptions> r =
        ParseReplica(owner.file(), owner.Get("replica"), owner.KeyPath("replica"),
                     owner.LineOf("replica"), global);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
    lines.push_back(owner.LineOf("replica"));
  } else if (owner.Has("replicas")) {
    YAML::Node list = owner.Get("replicas");
    if (!list.IsSequence() || list.size() == 0) {
      return owner.Error("replicas", "must be a non-empty list of replicas");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      int line = LineOf(list[i], owner.LineOf("replicas"));
      absl::StatusOr<ReplicaOptions> r = ParseReplica(
          owner.file(), list[i], fmt::format("{}[{}]", owner.KeyPath("replicas"), i), line, global);
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
      lines.push_back(line);
    }
  } else {
    return owner.Error("",
                       "has no replica: add `replica:` with a url or path (or a `replicas:` "
                       "list)");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      std::string ni = out[i].name.empty() ? out[i].type : out[i].name;
      std::string nj = out[j].name.empty() ? out[j].type : out[j].name;
      if (ni == nj) {
        return ConfigError(owner.file(), lines[i],
                           fmt::format("{}[{}]", owner.KeyPath("replicas"), i),
                           fmt::format("two replicas are named \"{}\" (the other at line {}); "
                                       "give each a distinct name:",
                                       ni, lines[j]));
      }
    }
  }
  return out;
}

}  // namespace litesync::config_internal
