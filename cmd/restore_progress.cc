#include "cmd/restore_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "fmt/format.h"

#include "cmd/status_report.h"

namespace litesync {
namespace {

constexpr absl::Duration kQuietStart = absl::Seconds(1);
constexpr absl::Duration kRedrawEvery = absl::Milliseconds(200);

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;  // a progress line is not worth an error
    done += static_cast<size_t>(n);
  }
}

size_t TerminalWidth(int fd) {
  struct winsize ws {};
  return ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

}  // namespace

std::string FormatRestoreProgress(const RestoreProgress& p, absl::Duration elapsed, size_t width) {
  std::string line = fmt::format("restore: {}/{} files", p.files_done, p.files_total);
  const double secs = absl::ToDoubleSeconds(elapsed);
  // By bytes when every size is known, else by files.
  double done = p.bytes_total > 0 ? static_cast<double>(p.bytes_done) : p.files_done;
  double total = p.bytes_total > 0 ? static_cast<double>(p.bytes_total) : p.files_total;
  if (p.bytes_total > 0) {
    line += fmt::format(", {} of {}", FormatBytes(p.bytes_done), FormatBytes(p.bytes_total));
    if (secs > 0) {
      line += fmt::format(
          ", {}/s", FormatBytes(static_cast<uint64_t>(static_cast<double>(p.bytes_done) / secs)));
    }
  } else if (secs > 0) {
    line += fmt::format(", {:.1f} files/s", p.files_done / secs);
  }
  if (done > 0 && secs > 0 && total >= done) {
    line += fmt::format(", {} left", FormatAge(absl::Seconds((total - done) * secs / done)));
  } else if (total > done) {
    line += ", time left unknown";
  }
  if (!p.fetching.empty()) line += ", fetching " + p.fetching;
  if (width > 0 && line.size() >= width) line.resize(width - 1);  // never wrap
  return line;
}

RestoreProgressLine::RestoreProgressLine(int fd)
    : fd_(fd), tty_(::isatty(fd) == 1), start_(absl::Now()) {}

RestoreProgressLine::~RestoreProgressLine() { Clear(); }

void RestoreProgressLine::Update(const RestoreProgress& p) {
  if (!tty_) return;
  if (p.files_done == p.files_total) {  // done: what follows is the result's log line
    Clear();
    return;
  }
  absl::Time now = absl::Now();
  if (now - start_ < kQuietStart || now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  drawn_ = true;
  WriteAll(fd_, "\r\033[K" + FormatRestoreProgress(p, now - start_, TerminalWidth(fd_)));
}

void RestoreProgressLine::Clear() {
  if (!drawn_.exchange(false)) return;
  WriteAll(fd_, "\r\033[K");
}

}  // namespace litesync
