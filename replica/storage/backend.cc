#include "replica/storage/backend.h"

#include <algorithm>

#include "fmt/format.h"

namespace litesync {
namespace {

// The one list of backends: a new backend adds its registration here.
constexpr const Backend* kBackends[] = {&kFileBackend, &kS3Backend};

}  // namespace

std::span<const Backend* const> Backends() { return kBackends; }

const Backend* FindBackend(std::string_view scheme) {
  for (const Backend* b : kBackends) {
    if (b->scheme == scheme) return b;
  }
  return nullptr;
}

std::string KnownBackends() {
  std::string out;
  for (size_t i = 0; i < std::size(kBackends); ++i) {
    if (i > 0) out += i + 1 == std::size(kBackends) ? " or " : ", ";
    out += fmt::format("\"{}\"", kBackends[i]->scheme);
  }
  return out;
}

const Backend* BackendOfKey(std::string_view key) {
  const Backend* found = nullptr;
  for (const Backend* b : kBackends) {
    if (key != b->naming_key && std::find(b->settings_keys.begin(), b->settings_keys.end(), key) ==
                                    b->settings_keys.end()) {
      continue;
    }
    if (found) return nullptr;
    found = b;
  }
  return found;
}

const Backend& PlainPathBackend() {
  for (const Backend* b : kBackends) {
    if (b->from_path != nullptr) return *b;
  }
  return *kBackends[0];
}

const Backend* InferBackend(const ConfigView& replica) {
  for (const Backend* b : kBackends) {
    if (!b->naming_key.empty() && replica.Has(b->naming_key)) return b;
  }
  return replica.Has("path") ? &PlainPathBackend() : nullptr;
}

bool AnySpillsToScratch(std::span<const ReplicaOptions> replicas) {
  return std::any_of(replicas.begin(), replicas.end(), [](const ReplicaOptions& r) {
    const Backend* b = FindBackend(r.type);
    return b && b->spills_to_scratch;
  });
}

}  // namespace litesync
