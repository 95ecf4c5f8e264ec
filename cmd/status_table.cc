// RenderTable: the human view of a StatusReport. Ages are relative to the
// report's generated_at, so a table rendered from the daemon's JSON says the same
// as the daemon would.
#include <algorithm>

#include "fmt/format.h"

#include "cmd/status_report.h"

namespace litesync {
namespace {

// A cell on one line: control characters (a newline in a path) shown escaped.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

// The first `max` characters of `s` (UTF-8 aware), "..." in place of the rest.
std::string Cut(const std::string& s, size_t max) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  if (chars <= max) return s;
  std::string out;
  size_t kept = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && kept++ == max - 3) break;
    out += s[i];
  }
  return out + "...";
}

// Aligns columns with two spaces between them; the last column is not padded.
// `width` > 0: the last column is cut so each line fits (it keeps at least
// kMinLastColumn characters).
constexpr size_t kMinLastColumn = 24;
std::string Columns(std::vector<std::vector<std::string>> rows, size_t width = 0) {
  for (auto& row : rows) {
    for (std::string& cell : row) cell = Cell(cell);
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  if (width > 0 && !widths.empty()) {
    size_t before_last = 0;
    for (size_t i = 0; i + 1 < widths.size(); ++i) before_last += widths[i] + 2;
    size_t room = width > before_last ? width - before_last : 0;
    room = std::max(room, kMinLastColumn);
    for (auto& row : rows) {
      if (row.size() == widths.size()) row.back() = Cut(row.back(), room);
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string When(const std::optional<absl::Time>& t, absl::Time now) {
  if (!t) return "-";
  std::string at = absl::FormatTime("%Y-%m-%d %H:%M:%SZ", *t, absl::UTCTimeZone());
  if (*t > now) return fmt::format("{} (in {})", at, FormatAge(*t - now));
  return fmt::format("{} ({} ago)", at, FormatAge(now - *t));
}

std::string Num(const std::optional<uint64_t>& v) { return v ? fmt::format("{}", *v) : "-"; }

std::string Behind(const DbStatus& d) {
  if (!d.behind_txns && !d.behind_bytes) return "-";
  std::string tx = d.behind_txns ? fmt::format("{} tx", *d.behind_txns) : "? tx";
  std::string bytes = d.behind_bytes ? FormatBytes(*d.behind_bytes) : "? B";
  return tx + ", " + bytes;
}

std::string LastError(const DbStatus& d, absl::Time now) {
  if (d.last_error.empty()) return "-";
  if (!d.last_error_time) return d.last_error;
  return fmt::format("{} ({} ago)", d.last_error, FormatAge(now - *d.last_error_time));
}

std::string NextDue(const std::optional<absl::Time>& t, absl::Time now) {
  if (!t) return "-";
  return *t >= now ? fmt::format("in {}", FormatAge(*t - now))
                   : fmt::format("overdue {}", FormatAge(now - *t));
}

std::string PingResult(const HeartbeatRow& h) {
  if (!h.last_ok) return "-";
  std::string r = h.last_result.empty() ? (*h.last_ok ? "ok" : "failed") : h.last_result;
  return *h.last_ok ? r : "failed: " + r;
}

std::string HeartbeatState(const HeartbeatRow& h, bool daemon) {
  if (!h.withholding) return daemon ? "sending" : "no daemon: nothing sent";
  std::string out = daemon ? "withholding" : "no daemon: would withhold";
  for (size_t i = 0; i < h.reasons.size(); ++i) out += (i == 0 ? ": " : "; ") + h.reasons[i];
  return out;
}

}  // namespace

std::string RenderTable(const StatusReport& report, size_t width) {
  const absl::Time now = report.generated_at;
  std::string out;
  for (const std::string& note : report.notes) out += Cell(note) + "\n";
  size_t not_ok_count = 0;
  for (const DbStatus& d : report.databases) not_ok_count += d.state != DbState::kOk;
  std::string verdict = report.databases.empty() ? "no databases"
                        : not_ok_count == 0
                            ? "healthy"
                            : fmt::format("{} of {} not ok", not_ok_count, report.databases.size());
  out += fmt::format("{} as of {} (ok: synced within {})\n\n", verdict,
                     absl::FormatTime("%Y-%m-%d %H:%M:%SZ", now, absl::UTCTimeZone()),
                     FormatAge(report.interval));

  std::vector<std::vector<std::string>> rows = {{"DATABASE", "REPLICA", "STATE", "LAST SYNC",
                                                 "LOCAL TXID", "REPLICATED TXID", "BEHIND", "WAL",
                                                 "LAST ERROR"}};
  for (const DbStatus& d : report.databases) {
    rows.push_back({d.path, d.replica, std::string(DbStateName(d.state)), When(d.last_sync, now),
                    Num(d.local_txid), Num(d.replicated_txid), Behind(d),
                    d.wal_size ? FormatBytes(static_cast<uint64_t>(*d.wal_size)) : "-",
                    LastError(d, now)});
  }
  if (report.databases.empty()) {
    out += "no databases\n";
  } else {
    out += Columns(rows, width);
  }

  int not_ok = 0;
  std::string problems;
  for (const DbStatus& d : report.databases) {
    if (d.state == DbState::kOk) continue;
    ++not_ok;
    std::string state(DbStateName(d.state));
    problems += fmt::format("  {} ({}): {}{}\n", Cell(d.path), Cell(d.replica), state,
                            d.reason.empty() || d.reason == state ? "" : ": " + Cell(d.reason));
  }
  if (not_ok > 0) {
    out += fmt::format("\n{} of {} not ok:\n{}", not_ok, report.databases.size(), problems);
  }
  // Warnings of a row whose state is something else are not in its reason.
  std::string warnings;
  for (const DbStatus& d : report.databases) {
    for (const std::string& w : d.warnings) {
      if (d.state == DbState::kWarning && w == d.reason) continue;
      warnings += fmt::format("  {} ({}): warning: {}\n", Cell(d.path), Cell(d.replica), Cell(w));
    }
  }
  if (!warnings.empty()) out += "\nwarnings:\n" + warnings;

  out += "\n";
  if (report.heartbeat.empty()) {
    out += "heartbeat: not configured\n";
  } else {
    std::vector<std::vector<std::string>> hb = {
        {"HEARTBEAT", "LAST PING", "RESULT", "NEXT DUE", "STATE"}};
    for (const HeartbeatRow& h : report.heartbeat) {
      hb.push_back({h.url, When(h.last_ping, now), PingResult(h), NextDue(h.next_due, now),
                    HeartbeatState(h, report.source != "direct")});
    }
    out += Columns(hb);
  }
  return out;
}

}  // namespace litesync
