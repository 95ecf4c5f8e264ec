#include "replica/format/tx_file_info.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace litesync {
namespace {

std::optional<uint64_t> ParseHex16(std::string_view s) {
  if (s.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

std::string TxidString(uint64_t txid) { return fmt::format("{:016x}", txid); }
std::string LineageName(Lineage lineage) { return TxidString(lineage); }
std::optional<Lineage> ParseLineageName(std::string_view name) { return ParseHex16(name); }

std::string TxFileInfo::Name() const {
  return fmt::format("{:016x}-{:016x}-{:016x}.ltx", min_txid, max_txid,
                     static_cast<uint64_t>(absl::ToUnixMillis(timestamp)));
}

std::string TxFileInfo::RelativePath() const {
  return absl::StrCat(LineageName(lineage), "/", level, "/", Name());
}

std::optional<TxFileInfo> ParseTxFileName(std::string_view name, Lineage lineage, int level) {
  // 16 + 1 + 16 + 1 + 16 + 4
  if (name.size() != 54 || name.substr(50) != ".ltx" || name[16] != '-' || name[33] != '-') {
    return std::nullopt;
  }
  auto min = ParseHex16(name.substr(0, 16));
  auto max = ParseHex16(name.substr(17, 16));
  auto ts = ParseHex16(name.substr(34, 16));
  if (!min || !max || !ts || *min == 0 || *max < *min) return std::nullopt;
  TxFileInfo info;
  info.lineage = lineage;
  info.level = level;
  info.min_txid = *min;
  info.max_txid = *max;
  info.timestamp = absl::FromUnixMillis(static_cast<int64_t>(*ts));
  return info;
}

}  // namespace litesync
