#include "bench/lag_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "bench/lz4_frame.h"
#include "bench/meta_page.h"

#include "replica/format/tx_file_info.h"

namespace litesync::bench {
namespace {

namespace fs = std::filesystem;

constexpr size_t kWalHeader = 32;

struct Event {
  long long ns;
  std::string path;
};

struct Coverage {
  long long ns;
  int64_t upto;  // highest seq (or TXID) durable from ns on
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::vector<std::pair<int64_t, long long>> ReadWriterLog(const std::string& path) {
  std::vector<std::pair<int64_t, long long>> out;
  std::ifstream in(path);
  long long seq = 0, ns = 0;
  std::string hash;
  while (in >> seq >> hash >> ns) out.emplace_back(seq, ns);
  return out;
}

std::vector<Event> ReadEvents(const std::string& path) {
  std::vector<Event> out;
  std::ifstream in(path);
  long long ns = 0;
  std::string kind, rel;
  while (in >> ns >> kind >> rel) {
    if (kind == "moved" || kind == "closed" || kind == "scan") out.push_back({ns, rel});
  }
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  for (std::string p; std::getline(ss, p, '/');) parts.push_back(p);
  return parts;
}

// <lineage>/<level>/<min>-<max>-<ts>.ltx, as replica/format/tx_file_info.h names them.
std::optional<TxFileInfo> ParseTxPath(const std::string& rel) {
  std::vector<std::string> p = Split(rel);
  if (p.size() != 3) return std::nullopt;
  std::optional<Lineage> lineage = ParseLineageName(p[0]);
  if (!lineage || p[1].empty() || p[1].size() > 1 || !isdigit(p[1][0])) return std::nullopt;
  return ParseTxFileName(p[2], *lineage, p[1][0] - '0');
}

int Report(const std::vector<std::pair<int64_t, long long>>& commits, std::vector<Coverage> cov,
           size_t files, long long offset) {
  std::stable_sort(cov.begin(), cov.end(),
                   [](const Coverage& a, const Coverage& b) { return a.ns < b.ns; });
  for (size_t i = 1; i < cov.size(); ++i) cov[i].upto = std::max(cov[i].upto, cov[i - 1].upto);
  std::vector<double> lags;
  size_t missing = 0, negative = 0;
  for (const auto& [seq, ns] : commits) {
    int64_t want = seq + offset;
    auto it = std::lower_bound(cov.begin(), cov.end(), want,
                               [](const Coverage& c, int64_t w) { return c.upto < w; });
    if (it == cov.end()) {
      ++missing;
      continue;
    }
    if (it->ns < ns) ++negative;
    lags.push_back(static_cast<double>(it->ns - ns) / 1e6);
  }
  std::sort(lags.begin(), lags.end());
  auto pct = [&](double q) {
    if (lags.empty()) return 0.0;
    size_t rank = static_cast<size_t>(q * static_cast<double>(lags.size()) + 0.999999);
    return lags[std::clamp<size_t>(rank, 1, lags.size()) - 1];
  };
  std::printf(
      "n=%zu missing=%zu negative=%zu p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f "
      "files=%zu offset=%lld\n",
      lags.size(), missing, negative, pct(0.50), pct(0.90), pct(0.99),
      lags.empty() ? 0.0 : lags.back(), files, offset);
  return lags.empty() ? 1 : 0;
}

uint32_t PageSizeOf(const std::string& db) {
  std::ifstream in(db, std::ios::binary);
  unsigned char h[18] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return 0;
  uint32_t v = h[16] << 8 | h[17];
  return v == 1 ? 65536 : v;
}

}  // namespace

int LagLitesync(const std::string& writer_log, const std::string& events,
                const std::string& replica, int64_t final_seq) {
  uint64_t final_txid = 0;
  for (const auto& e : fs::recursive_directory_iterator(replica)) {
    std::string rel = fs::relative(e.path(), replica).string();
    if (auto info = ParseTxPath(rel)) final_txid = std::max(final_txid, info->max_txid);
  }
  std::vector<Coverage> cov;
  for (const Event& e : ReadEvents(events)) {
    if (auto info = ParseTxPath(e.path))
      cov.push_back({e.ns, static_cast<int64_t>(info->max_txid)});
  }
  size_t files = cov.size();
  long long offset = static_cast<long long>(final_txid) - final_seq;
  return Report(ReadWriterLog(writer_log), std::move(cov), files, offset);
}

int LagLitestream(const std::string& writer_log, const std::string& events,
                  const std::string& replica, const std::string& db) {
  uint32_t page_size = PageSizeOf(db);
  if (page_size < 512) {
    std::fprintf(stderr, "bench_tool: %s: no SQLite header\n", db.c_str());
    return 1;
  }
  std::vector<Coverage> cov;
  size_t files = 0;
  for (const Event& e : ReadEvents(events)) {
    // generations/<gen>/wal/<index hex>_<offset hex>.wal.lz4 (v0.3.13; older releases
    // used wal/<index>/<offset>.wal.lz4) | generations/<gen>/snapshots/<index>.snapshot.lz4
    std::vector<std::string> p = Split(e.path);
    if (p.size() < 4 || p[0] != "generations") continue;
    const std::string& name = p.back();
    bool wal = p[2] == "wal" && name.ends_with(".wal.lz4") && p.size() <= 5;
    bool snap = p.size() == 4 && p[2] == "snapshots" && name.ends_with(".snapshot.lz4");
    if (!wal && !snap) continue;
    std::string raw;
    if (!ReadFile(replica + "/" + e.path, &raw)) {
      std::fprintf(stderr, "bench_tool: %s vanished before analysis\n", e.path.c_str());
      continue;
    }
    std::optional<std::string> data = Lz4FrameDecode(raw);
    if (!data) {
      std::fprintf(stderr, "bench_tool: %s: not an LZ4 frame\n", e.path.c_str());
      return 1;
    }
    std::string_view v = *data;
    int64_t seq = -1;
    if (wal) {
      size_t sep = name.find('_');
      unsigned long long offset =
          std::stoull(sep == std::string::npos ? name : name.substr(sep + 1), nullptr, 16);
      if (offset == 0) v.remove_prefix(std::min(v.size(), kWalHeader));
      seq = MaxSeqInWalFrames(v, page_size);
    } else {
      seq = MaxSeqInDbImage(v, page_size);
    }
    ++files;
    if (seq >= 0) cov.push_back({e.ns, seq});
  }
  return Report(ReadWriterLog(writer_log), std::move(cov), files, 0);
}

}  // namespace litesync::bench
