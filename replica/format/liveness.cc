#include "replica/format/liveness.h"

#include <charconv>
#include <optional>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

std::optional<uint64_t> Hex16(std::string_view v) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 16);
  if (v.size() != 16 || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

std::optional<int64_t> Decimal(std::string_view v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

// "<level>/<name>" below the lineage's directory.
std::optional<TxFileInfo> ParseFile(std::string_view v, Lineage lineage) {
  size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<int64_t> level = Decimal(v.substr(0, slash));
  if (!level || *level < 0 || *level > kSnapshotLevel) return std::nullopt;
  return ParseTxFileName(v.substr(slash + 1), lineage, static_cast<int>(*level));
}

}  // namespace

std::string EncodeLiveness(const LivenessRecord& r) {
  return fmt::format(
      "litesync-liveness 1\nlineage {}\ntxid {}\nfile {}/{}\nconfirmed_ms {}\nhost {}\n",
      LineageName(r.lineage), TxidString(r.txid), r.file.level, r.file.Name(),
      absl::ToUnixMillis(r.confirmed), r.host);
}

absl::StatusOr<LivenessRecord> DecodeLiveness(std::string_view bytes) {
  LivenessRecord r;
  bool magic = false, lineage = false, txid = false, confirmed = false;
  std::string_view file;
  int n = 0;
  while (!bytes.empty()) {
    n++;
    size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    auto bad = [&] {
      return absl::InvalidArgumentError(
          fmt::format("liveness record line {}: bad {} \"{}\"", n, key, value));
    };
    if (n == 1) {
      if (key != "litesync-liveness" || value != "1") {
        return absl::InvalidArgumentError("not a litesync liveness record (version 1)");
      }
      magic = true;
    } else if (key == "lineage") {
      std::optional<uint64_t> v = Hex16(value);
      if (!v) return bad();
      r.lineage = *v;
      lineage = true;
    } else if (key == "txid") {
      std::optional<uint64_t> v = Hex16(value);
      if (!v) return bad();
      r.txid = *v;
      txid = true;
    } else if (key == "file") {
      file = value;
    } else if (key == "confirmed_ms") {
      std::optional<int64_t> v = Decimal(value);
      if (!v) return bad();
      r.confirmed = absl::FromUnixMillis(*v);
      confirmed = true;
    } else if (key == "host") {
      r.host = value;
    }  // other keys: from a newer writer, ignored
  }
  if (!magic || !lineage || !txid || !confirmed) {
    return absl::InvalidArgumentError(
        "liveness record lacks one of lineage, txid and confirmed_ms");
  }
  std::optional<TxFileInfo> info = ParseFile(file, r.lineage);
  if (!info || info->min_txid > r.txid || info->max_txid < r.txid) {
    return absl::InvalidArgumentError(fmt::format(
        "liveness record: file \"{}\" is not a tx file holding txid {}", file, TxidString(r.txid)));
  }
  r.file = *info;
  return r;
}

}  // namespace litesync
